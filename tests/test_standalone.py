"""The repository stands alone: a clone with nothing beside it collects every test, and no
tracked file points outside the repository."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Below this many tests, a collection has lost modules (there are over 2,100).
MIN_TESTS: t.Final = 2000

#: Paths that leave the repository: the folder the test data used to be read from, by
#: relative path or as a pathlib join, and the machine's absolute work folder. Spelled in
#: pieces so that this file does not match itself.
OUTSIDE: t.Final = re.compile(
    "|".join(
        (
            re.escape("..") + r"[/\\]" + "shared",
            "shared" + r"/(?:spec|seeds)\b",
            r"/\s*[\"']" + "shared" + r"[\"']",
            r"[\"']" + "shared" + r"[\"']\s*/",
            re.escape("/" + "work/"),
        )
    )
)

COLLECTED = re.compile(r"(\d+) tests? collected")
#: A module skipped while collecting, with the reason (``-rs``).
SKIPPED = re.compile(r"^SKIPPED \[\d+\] (.*)$", re.MULTILINE)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, check=True, capture_output=True, text=True, timeout=60
    ).stdout


def _collect(root: Path) -> tuple[int, str, str]:
    """Exit code, last line and report (output but the test ids) of collecting the tests
    of ``root``, in a Python whose imports come from ``root`` (not from a PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTEST_ADDOPTS"}}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    # The output without the list of test ids: the errors, skips and summary.
    report = "\n".join(
        line for line in (result.stdout + result.stderr).splitlines() if "::" not in line
    )
    return result.returncode, lines[-1] if lines else "", report


def _count(summary: str) -> int:
    match = COLLECTED.search(summary)
    assert match, summary
    return int(match[1])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_clone_with_nothing_beside_it_collects_every_test(tmp_path: Path) -> None:
    # The clone's parent folder holds nothing else: no data next to the repository.
    clone = tmp_path / "empty" / "flask-apierrors"
    subprocess.run(
        ["git", "clone", "--quiet", str(REPO), str(clone)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert [p.name for p in clone.parent.iterdir()] == ["flask-apierrors"]

    code, summary, report = _collect(clone)

    assert code == 0, report
    assert "error" not in summary.lower(), report
    # Only a missing optional dependency may skip a module, never missing data.
    skipped = [s for s in SKIPPED.findall(report) if ": could not import " not in s]
    assert not skipped, skipped
    collected = _count(summary)
    assert collected > MIN_TESTS, summary
    # The working tree can hold uncommitted work of its own; when it is exactly the
    # committed state, both must collect the same tests.
    if not _git("status", "--porcelain"):
        tree_code, tree_summary, tree_report = _collect(REPO)
        assert tree_code == 0, tree_report
        assert collected == _count(tree_summary), (summary, tree_summary)


def test_no_tracked_file_points_outside_the_repository() -> None:
    found = []
    for name in _git("ls-files", "-z").split("\0"):
        path = REPO / name
        if not name or not path.is_file():  # deleted in the working tree
            continue
        data = path.read_bytes()
        if b"\0" in data:  # not text
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            for match in OUTSIDE.finditer(line):
                found.append(f"{name}:{number}: {match[0]!r}")
    assert not found, "paths outside the repository:\n" + "\n".join(found)
