"""The documented error examples of the two APIs the example app reproduces.

They are in ``tests/data/seed_examples.json`` (see ``tests/data/README.md``), inside the
repository, so a plain clone runs every test.
"""

from __future__ import annotations

import functools
import json
import typing as t
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
SEED_EXAMPLES = DATA / "seed_examples.json"


@functools.cache
def _seed_examples_text() -> str:
    return SEED_EXAMPLES.read_text(encoding="utf-8")


def seed_examples() -> list[dict[str, t.Any]]:
    """Every example: ``seed``, ``section``, ``example``, ``status``, ``json_valid``, ``body``.

    The file is read once; each call returns new objects, so a test that changes what it
    got changes nothing for the others.
    """
    examples: list[dict[str, t.Any]] = json.loads(_seed_examples_text())
    return examples
