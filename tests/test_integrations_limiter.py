"""flask-limiter 429s in the documented bodies: their details and messages,
and custom messages and on_breach responses (headers, Retry-After and storage
outages are in the test_integrations_limiter_*.py modules; real Redis is in
test_limits_gunicorn.py)."""

from __future__ import annotations

import json
import re
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response

from flask_apierrors import ApiErrors

flask_limiter = pytest.importorskip("flask_limiter")
from flask_limiter import Limiter  # noqa: E402
from flask_limiter import RequestLimit  # noqa: E402

from flask_apierrors.ratelimit.convert import RateLimitInfo  # noqa: E402
from tests.support.limiter_apps import RATE_HEADERS  # noqa: E402
from tests.support.limiter_apps import details_of as _details  # noqa: E402
from tests.support.limiter_apps import exhaust as _exhaust  # noqa: E402
from tests.support.limiter_apps import make_limited as _make  # noqa: E402
from tests.support.seeds import seed_examples  # noqa: E402

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _seed_body(seed: str, section_end: str, example: str | None = None) -> dict[str, t.Any]:
    for entry in seed_examples():
        if (
            entry["seed"].startswith(seed)
            and entry["section"].endswith(section_end)
            and entry["example"] == example
        ):
            body: dict[str, t.Any] = entry["body"]
            return body
    raise LookupError(section_end)


def _without_ids(body: dict[str, t.Any]) -> dict[str, t.Any]:
    body = json.loads(json.dumps(body))
    body.pop("correlation_id", None)
    if "detail" in body:
        body["detail"].pop("correlation_id", None)
    return body


# -- the documented bodies ------------------------------------------------------------------


def test_second_documented_body() -> None:
    app, _ = _make("100/minute", format="error")
    seed = _seed_body("003", "429 Too Many Requests", "Rate Limit Exceeded")
    response = _exhaust(app.test_client(), 100)
    body = _without_ids(response.get_json())
    assert list(body) == list(seed)
    assert list(body["details"]) == list(seed["details"])
    assert ISO.fullmatch(body["details"]["reset_at"])
    assert ISO.fullmatch(body["timestamp"])
    assert isinstance(body["details"]["retry_after"], int)
    for key in ("reset_at", "retry_after"):
        body["details"][key] = seed["details"][key]
    body["timestamp"] = seed["timestamp"]
    assert body == seed
    assert response.mimetype == "application/json"


def test_first_documented_body() -> None:
    app, _ = _make("60/minute", format="detail")
    seed = _seed_body("000", "Rate Limiting Errors (4xx) / RATE_LIMIT_EXCEEDED")
    body = _without_ids(_exhaust(app.test_client(), 60).get_json())
    assert 1 <= body["detail"]["details"]["retry_after"] <= 61
    body["detail"]["details"]["retry_after"] = seed["detail"]["details"]["retry_after"]
    assert body == seed


@pytest.mark.parametrize(
    ("fmt", "details"),
    [
        ("error", ["limit", "remaining", "reset_at", "retry_after"]),
        ("problem", ["limit", "remaining", "reset_at", "retry_after"]),
        ("error_code", ["limit", "window", "retry_after"]),
        ("detail", ["limit", "window", "retry_after"]),
    ],
)
def test_details_follow_the_format(fmt: str, details: list[str]) -> None:
    app, _ = _make(format=fmt)
    body = _exhaust(app.test_client(), 2).get_json()
    assert list(_details(body)) == details


def test_blueprint_override_chooses_its_shape() -> None:
    app = Flask("bp")
    ext = ApiErrors(app, format="error")
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
    legacy = Blueprint("legacy", __name__, url_prefix="/legacy")

    @legacy.get("/x")
    @limiter.limit("1/minute")
    def legacy_view() -> str:
        return "ok"

    app.register_blueprint(legacy)
    ext.override(legacy, format="detail")
    body = _exhaust(app.test_client(), 1, "/legacy/x").get_json()
    assert body["detail"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["detail"]["details"]["window"] == "1 minute"


@pytest.mark.parametrize(
    ("limit", "hits", "message", "window"),
    [
        ("100/minute", 100, "Rate limit of 100 requests per minute exceeded", "1 minute"),
        ("1/second", 1, "Rate limit of 1 request per second exceeded", "1 second"),
        ("5 per 10 seconds", 5, "Rate limit of 5 requests per 10 seconds exceeded", "10 seconds"),
        ("3/hour", 3, "Rate limit of 3 requests per hour exceeded", "1 hour"),
    ],
)
def test_messages_and_windows(limit: str, hits: int, message: str, window: str) -> None:
    app, _ = _make(limit, format="error", ratelimit_details=("limit", "window"))
    body = _exhaust(app.test_client(), hits).get_json()
    assert body["message"] == message
    assert body["details"]["window"] == window


def test_configured_details_and_message() -> None:
    app, _ = _make(
        "2/minute",
        format="detail",
        ratelimit_details=["retry_after", "reset", "limit"],
        ratelimit_message="Only {limit} {requests} per {period}",
    )
    response = _exhaust(app.test_client(), 2)
    inner = response.get_json()["detail"]
    assert inner["message"] == "Only 2 requests per minute"
    assert list(inner["details"]) == ["retry_after", "reset", "limit"]
    assert inner["details"]["reset"] == int(response.headers["X-RateLimit-Reset"])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"ratelimit_details": ("limit", "burst")}, "burst"),
        ({"ratelimit_message": "{nope} exceeded"}, "nope"),
        ({"ratelimit_message": "{0} exceeded"}, "cannot be formatted"),
    ],
)
def test_bad_settings_fail_at_setup(options: dict[str, t.Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ApiErrors(Flask("bad"), **options)


@pytest.mark.parametrize(
    ("multiples", "granularity", "window", "period"),
    [
        (1, "minute", "1 minute", "minute"),
        (1, "second", "1 second", "second"),
        (10, "second", "10 seconds", "10 seconds"),
        (2, "hour", "2 hours", "2 hours"),
    ],
)
def test_rate_limit_info_wording(
    multiples: int, granularity: str, window: str, period: str
) -> None:
    info = RateLimitInfo(10, 0, 1701425100, 45, multiples, granularity)
    assert (info.window, info.period) == (window, period)
    assert info.reset_at == "2023-12-01T10:05:00Z"


# -- custom messages and on_breach still win ------------------------------------------------


@pytest.mark.parametrize("error_message", ["Slow down, please", lambda: "Computed: slow down"])
def test_error_message_wins(error_message: str | t.Callable[[], str]) -> None:
    app = Flask("msg")
    ApiErrors(app, format="error")
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")

    @app.get("/")
    @limiter.limit("1/minute", error_message=error_message)
    def index() -> str:
        return "ok"

    body = _exhaust(app.test_client(), 1, "/").get_json()
    expected = error_message() if callable(error_message) else error_message
    assert body["message"] == expected
    assert body["details"]["limit"] == 1


@pytest.mark.parametrize("headers_enabled", [True, False])
@pytest.mark.parametrize("where", ["limit", "limiter"])
def test_on_breach_response_wins_and_gets_headers(headers_enabled: bool, where: str) -> None:
    def on_breach(limit: RequestLimit) -> Response:
        return Response('{"custom": true}', status=429, mimetype="application/json")

    app = Flask("breach")
    ApiErrors(app, format="error")
    limiter = Limiter(
        lambda: "client",
        app=app,
        storage_uri="memory://",
        headers_enabled=headers_enabled,
        on_breach=on_breach if where == "limiter" else None,
    )

    @app.get("/")
    @limiter.limit("1/minute", on_breach=on_breach if where == "limit" else None)
    def index() -> str:
        return "ok"

    response = _exhaust(app.test_client(), 1, "/")
    assert response.get_json() == {"custom": True}
    for name in RATE_HEADERS:
        assert len(response.headers.getlist(name)) == 1, name
    assert int(response.headers["Retry-After"]) >= 1


def test_on_breach_with_another_status_is_untouched() -> None:
    app = Flask("breach503")
    ApiErrors(app)
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")

    @app.get("/")
    @limiter.limit("1/minute", on_breach=lambda limit: Response("busy", status=503))
    def index() -> str:
        return "ok"

    client = app.test_client()
    client.get("/")
    response = client.get("/")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "busy")
    assert "X-RateLimit-Limit" not in response.headers


def test_on_breach_callback_without_response_gets_our_body() -> None:
    seen: list[int] = []
    app = Flask("notify")
    ApiErrors(app, format="error")
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")

    @app.get("/")
    @limiter.limit("1/minute", on_breach=lambda limit: seen.append(limit.limit.amount))
    def index() -> str:
        return "ok"

    body = _exhaust(app.test_client(), 1, "/").get_json()
    assert seen == [1]
    assert body["error"] == "rate_limit_exceeded"


def test_an_on_breach_retry_after_that_is_longer_is_kept() -> None:
    def on_breach(limit: RequestLimit) -> Response:
        return Response("{}", status=429, headers={"Retry-After": "3600"})

    app, _ = _make(limiter_options={"on_breach": on_breach})
    response = _exhaust(app.test_client(), 2)
    assert response.headers.getlist("Retry-After") == ["3600"]
