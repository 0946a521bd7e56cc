"""atheris entry point for :func:`tests.fuzz.upstream.check` (upstream answers).

Run from the repository root, for example for 60 seconds::

    python -m tests.fuzz.fuzz_upstream -max_total_time=60 corpus/

A crash is written as ``crash-<sha1>`` and can be replayed by passing the
file instead of a directory.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["flask_apierrors"]):
    from tests.fuzz import upstream


def main() -> None:
    atheris.Setup(sys.argv, upstream.check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
