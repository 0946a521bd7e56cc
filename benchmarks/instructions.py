"""Instructions per request of each scenario, counted by valgrind's
callgrind: unlike timings, the count does not depend on the load of the
machine, so two revisions compare on any box (to about 1 %: ids and hash
seeds differ from run to run).

::

    python -m benchmarks.instructions                    # this checkout
    python -m benchmarks.instructions --against 1f1dc1a  # side by side with a revision
    python -m benchmarks.instructions --scenario 404 --contender jsonify

Each figure is (instructions of N requests - instructions of 0 requests) / N,
both runs after the same warm-up, so start-up and imports cancel out. The
other revision is checked out with ``git worktree`` into a temporary folder
and run with this checkout's Python environment.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

from benchmarks import contenders as c
from benchmarks import scenarios as sc

ROOT: t.Final = Path(__file__).resolve().parents[1]
#: Requests counted per scenario.
REQUESTS: t.Final = 400
WARM_UP: t.Final = 300

#: Run in the measured interpreter: the warm-up, then ``n`` requests.
_LOOP: t.Final = """
import gc, sys
from benchmarks import contenders as c, scenarios as sc, wsgicall
name, contender, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
scenario = next(s for s in sc.SCENARIOS if s.name == name)
app = c.CONTENDERS[contender][1]()
prepared = wsgicall.prepare(scenario)
for _ in range({warm_up}):
    wsgicall.call(app, prepared)
gc.disable()
for _ in range(n):
    wsgicall.call(app, prepared)
"""


def _collected(root: Path, scenario: str, contender: str, n: int) -> int:
    """Instructions of one run of :data:`_LOOP` with ``n`` requests."""
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONHASHSEED="0")
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            _LOOP.format(warm_up=WARM_UP),
            scenario,
            contender,
            str(n),
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    match = re.search(r"Collected : (\d+)", result.stderr)
    if match is None:
        raise RuntimeError(f"no callgrind total in:\n{result.stderr[-2000:]}")
    return int(match.group(1))


def per_request(root: Path, scenario: str, contender: str) -> int:
    """Instructions per request of ``scenario`` for ``contender`` in the tree at ``root``."""
    base = _collected(root, scenario, contender, 0)
    return (_collected(root, scenario, contender, REQUESTS) - base) // REQUESTS


def _worktree(revision: str, into: Path) -> Path:
    path = into / "tree"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(path), revision],
        cwd=ROOT,
        check=True,
    )
    return path


def main(argv: t.Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REVISION", help="also count a git revision")
    parser.add_argument("--scenario", action="append", choices=[s.name for s in sc.SCENARIOS])
    parser.add_argument("--contender", default="apierrors", choices=list(c.CONTENDERS))
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    names = args.scenario or [s.name for s in sc.SCENARIOS]
    with tempfile.TemporaryDirectory() as tmp:
        other = _worktree(args.against, Path(tmp)) if args.against else None
        try:
            print(f"instructions per request ({args.contender}, {REQUESTS} requests)")
            header = f"{'scenario':<12}{'this tree':>12}"
            if other is not None:
                header += f"{args.against:>14}{'change':>9}"
            print(header)
            for name in names:
                ours = per_request(ROOT, name, args.contender)
                line = f"{name:<12}{ours / 1000:>11,.0f}k"
                if other is not None:
                    theirs = per_request(other, name, args.contender)
                    line += f"{theirs / 1000:>13,.0f}k{(ours - theirs) / theirs:>+9.1%}"
                print(line, flush=True)
        finally:
            if other is not None:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(other)], cwd=ROOT, check=False
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
