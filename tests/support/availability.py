"""The documented examples that the availability tests compare with, and an
app set up for maintenance mode with a state file in a test's folder."""

from __future__ import annotations

import typing as t
from datetime import datetime
from datetime import timezone
from pathlib import Path

from flask import Flask

from flask_apierrors.availability import Maintenance
from tests.conftest import MakeApp
from tests.support.seeds import seed_examples

EXAMPLES = seed_examples()


def example(section_end: str, name: str | None = None) -> dict[str, t.Any]:
    for ex in EXAMPLES:
        if ex["section"].endswith(section_end) and (name is None or ex["example"] == name):
            return ex
    raise LookupError(section_end)


def documented(body: dict[str, t.Any], example_body: dict[str, t.Any]) -> dict[str, t.Any]:
    """``body`` without our correlation id and with the example's timestamp."""
    body = dict(body)
    body.pop("correlation_id", None)
    if "timestamp" in example_body:
        assert isinstance(body.pop("timestamp"), str)
        body["timestamp"] = example_body["timestamp"]
    return body


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def maintenance_app(
    make_app: MakeApp, tmp_path: Path, store: t.Any = None, **options: t.Any
) -> tuple[Flask, Maintenance]:
    options.setdefault("maintenance_file", str(tmp_path / "maintenance.json"))
    options.setdefault("maintenance_check_interval", 0.0)
    app, _ = make_app(**options)
    maintenance = Maintenance(app, store=store)

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/work")
    def work() -> dict[str, bool]:
        return {"done": True}

    return app, maintenance
