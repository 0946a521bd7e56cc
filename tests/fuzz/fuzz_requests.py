"""atheris entry point for :func:`tests.fuzz.targets.check`.

Run from the repository root, for example for 60 seconds::

    python -m tests.fuzz.fuzz_requests -max_total_time=60 tests/fuzz/corpus

Any libFuzzer option works; a crash is written as ``crash-<sha1>`` and can
be replayed by passing the file instead of a directory.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(
    include=["flask_apierrors", "werkzeug.wsgi", "werkzeug.formparser"]
):
    from tests.fuzz import targets


def main() -> None:
    atheris.Setup(sys.argv, targets.check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
