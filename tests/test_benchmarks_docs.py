"""The benchmark page names a cause for every target it can report missed."""

from __future__ import annotations

import pytest

from benchmarks import scenarios as sc
from benchmarks.docs import _cause

LABELS = [
    *(s.label for s in sc.SCENARIOS if s.status_class != 2),
    "success path with ApiErrors <= 1.03x without",
    *(
        f"through gunicorn, {label}: requests/s within 5% of the success path's"
        for label in (
            "error raised in a view",
            "unknown route (404)",
            "validation, 3 of 5 fields",
            "flask-limiter 429",
        )
    ),
]


@pytest.mark.parametrize("label", LABELS)
def test_every_target_has_a_cause(label: str) -> None:
    assert _cause(f"{label}: <= 1.10x hand-written") != ""


def test_the_specific_cause_wins() -> None:
    served = "through gunicorn, validation, 3 of 5 fields: requests/s"
    assert "marshmallow's load" in _cause(served)
    assert "per-error work" in _cause("through gunicorn, unknown route (404): requests/s")
