"""atheris entry point for :func:`tests.fuzz.targets.check_headers` (any request headers).

Run from the repository root, for example for 60 seconds::

    python -m tests.fuzz.fuzz_headers -max_total_time=60 corpus/

A crash is written as ``crash-<sha1>`` and can be replayed by passing the
file instead of a directory.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["flask_apierrors", "werkzeug"]):
    from tests.fuzz import targets


def main() -> None:
    atheris.Setup(sys.argv, targets.check_headers)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
