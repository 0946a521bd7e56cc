"""A Flask app limited by flask-limiter on memory storage, and the helpers that
exhaust its limit and read the details of the 429 it answers."""

from __future__ import annotations

import typing as t

from flask import Flask
from flask.testing import FlaskClient
from flask_limiter import Limiter
from werkzeug.test import TestResponse

from tests.adoption import set_up

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
DETAILS_ALL = ("limit", "remaining", "reset", "reset_at", "window", "retry_after")


def make_limited(
    limit: str = "2/minute",
    *,
    apierrors_first: bool = True,
    limiter_options: dict[str, t.Any] | None = None,
    config: dict[str, t.Any] | None = None,
    **options: t.Any,
) -> tuple[Flask, Limiter]:
    """An app whose one view, /limited, allows ``limit`` per client; ``options``
    go to ApiErrors, set up before (or after) the Limiter."""
    app = Flask("limited")
    app.config["TESTING"] = True
    app.config.update(config or {})
    # Details come "in order": the order shows when the app's JSON provider
    # keeps it (Flask's default sorts keys).
    app.json.sort_keys = False  # type: ignore[attr-defined]
    limiter = Limiter(lambda: "client", storage_uri="memory://", **(limiter_options or {}))
    set_up(app, limiter.init_app, apierrors_first, **options)

    @app.get("/limited")
    @limiter.limit(limit)
    def limited() -> dict[str, bool]:
        return {"ok": True}

    return app, limiter


def exhaust(client: FlaskClient, n: int, path: str = "/limited") -> TestResponse:
    """``n`` requests that pass, then the 429 of the next one."""
    for _ in range(n):
        ok = client.get(path)
        assert ok.status_code == 200, ok.get_data(as_text=True)
    response = client.get(path)
    assert response.status_code == 429
    return response


def details_of(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """The details of a 429 body, whatever its format."""
    inner = body["detail"] if isinstance(body.get("detail"), dict) else body
    details: dict[str, t.Any] = inner["details"]
    return details
