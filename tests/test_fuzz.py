"""The fuzz target of ``tests/fuzz``: driven by hypothesis in every run, and
by atheris (coverage-guided) for a bounded time when it is installed."""

from __future__ import annotations

import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .fuzz import targets

REPO_ROOT: t.Final = Path(__file__).resolve().parents[1]
#: Seconds of coverage-guided fuzzing per run (``APIERRORS_FUZZ_SECONDS``).
FUZZ_SECONDS: t.Final = int(os.environ.get("APIERRORS_FUZZ_SECONDS", "10"))


@pytest.mark.parametrize(
    "seed", targets.seeds(), ids=[f"seed-{i}" for i in range(len(targets.seeds()))]
)
def test_seed_requests_keep_the_invariants(seed: bytes) -> None:
    targets.check(seed)


@pytest.mark.parametrize(
    ("seed", "method", "path", "incoming_id"),
    [
        (targets.encode(0, 2, b"{}", "abc"), "POST", "/chat", "abc"),
        (targets.encode(1, 2, b"", "", 1), "PUT", "/form", None),
        (targets.encode(7, 2, b"x"), "GET", "/no/such/route", None),
    ],
    ids=["chat", "chunked-form", "route-wraps-around"],
)
def test_decode_reads_what_encode_wrote(
    seed: bytes, method: str, path: str, incoming_id: str | None
) -> None:
    request = targets.decode(seed)
    assert (request.method, request.path, request.incoming_id) == (method, path, incoming_id)


@given(st.binary(max_size=1500))
def test_any_bytes_keep_the_invariants(data: bytes) -> None:
    targets.check(data)


@given(st.sampled_from(targets.seeds()), st.binary(max_size=200))
def test_mutated_seeds_keep_the_invariants(seed: bytes, tail: bytes) -> None:
    targets.check(seed + tail)
    targets.check(seed[: len(seed) // 2] + tail)


@pytest.mark.slow
def test_atheris_finds_nothing_in_bounded_time(tmp_path: Path) -> None:
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(targets.seeds()):
        (corpus / f"seed-{i}").write_bytes(seed)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.fuzz_requests",
            f"-max_total_time={FUZZ_SECONDS}",
            "-seed=1",
            "-max_len=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 120,
        check=False,
    )
    tail = "\n".join(result.stderr.splitlines()[-40:])
    assert result.returncode == 0, tail
    assert "Done" in result.stderr, tail
    assert not list(tmp_path.glob("crash-*")), tail
