"""The rate-limit headers of flask-limiter's 429s: sent once, in agreement
with the body, named as flask-limiter is configured, and left alone where
ApiErrors does not answer."""

from __future__ import annotations

import base64
import time
import typing as t
from datetime import datetime
from datetime import timezone

import pytest
from flask import Flask
from flask import Response

from flask_apierrors import ApiErrors
from flask_apierrors.quota import partition_key

flask_limiter = pytest.importorskip("flask_limiter")
from flask_limiter import Limiter  # noqa: E402

from tests.support.limiter_apps import DETAILS_ALL  # noqa: E402
from tests.support.limiter_apps import RATE_HEADERS  # noqa: E402
from tests.support.limiter_apps import details_of as _details  # noqa: E402
from tests.support.limiter_apps import exhaust as _exhaust  # noqa: E402
from tests.support.limiter_apps import make_limited as _make  # noqa: E402

# -- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers_enabled", [True, False])
@pytest.mark.parametrize("retry_after_value", [None, "http-date", "delta-seconds"])
@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window", "sliding-window-counter"])
@pytest.mark.parametrize("fmt", ["error", "detail"])
def test_headers_once_and_in_agreement_with_the_body(
    headers_enabled: bool, retry_after_value: str | None, strategy: str, fmt: str
) -> None:
    config: dict[str, t.Any] = {"RATELIMIT_HEADERS_ENABLED": headers_enabled}
    if retry_after_value is not None:
        config["RATELIMIT_HEADER_RETRY_AFTER_VALUE"] = retry_after_value
    app, _ = _make(
        "3/minute",
        config=config,
        limiter_options={"strategy": strategy},
        format=fmt,
        ratelimit_details=DETAILS_ALL,
    )
    response = _exhaust(app.test_client(), 3)
    now = time.time()
    values = {}
    for name in RATE_HEADERS:
        found = response.headers.getlist(name)
        assert len(found) == 1, (name, found)
        assert found[0].isdigit(), (name, found)
        values[name] = int(found[0])
    details = _details(response.get_json())
    assert details["limit"] == values["X-RateLimit-Limit"] == 3
    assert details["remaining"] == values["X-RateLimit-Remaining"] == 0
    assert details["reset"] == values["X-RateLimit-Reset"]
    assert details["retry_after"] == values["Retry-After"] >= 1
    reset_at = datetime.fromtimestamp(values["X-RateLimit-Reset"], timezone.utc)
    assert details["reset_at"] == reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Never earlier than the reset, and not much later either.
    assert now + values["Retry-After"] >= values["X-RateLimit-Reset"] - 0.01
    assert values["Retry-After"] <= 62


def test_short_windows_never_say_retry_after_zero() -> None:
    # flask-limiter computes int(reset - now), often 0 on a 1-second window.
    app, _ = _make("1/second", config={"RATELIMIT_HEADERS_ENABLED": True})
    client = app.test_client()
    seen = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        response = client.get("/limited")
        if response.status_code == 429:
            now = time.time()
            retry_after = int(response.headers["Retry-After"])
            assert retry_after >= 1
            assert now + retry_after >= int(response.headers["X-RateLimit-Reset"]) - 0.01
            seen.append(retry_after)
        time.sleep(0.01)
    assert seen


def test_retry_after_floor_is_configurable() -> None:
    app, _ = _make("1/second", ratelimit_min_retry_after=30)
    response = _exhaust(app.test_client(), 1)
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["details"]["retry_after"] == 30


def test_header_names_follow_flask_limiter_config() -> None:
    app, _ = _make(
        config={
            "RATELIMIT_HEADERS_ENABLED": True,
            "RATELIMIT_HEADER_LIMIT": "X-Quota",
            "RATELIMIT_HEADER_REMAINING": "X-Quota-Left",
            "RATELIMIT_HEADER_RESET": "X-Quota-Reset",
        }
    )
    response = _exhaust(app.test_client(), 2)
    for name in ("X-Quota", "X-Quota-Left", "X-Quota-Reset", "Retry-After"):
        assert len(response.headers.getlist(name)) == 1
    assert "X-RateLimit-Limit" not in response.headers


def test_draft_headers() -> None:
    app, _ = _make("4 per 30 seconds", ratelimit_draft_headers=True)
    response = _exhaust(app.test_client(), 4)
    retry_after = response.headers["Retry-After"]
    pk = base64.b64encode(partition_key("client")).decode()
    policy = f'"limited-4-per-30-seconds";q=4;w=30;pk=:{pk}:'
    assert response.headers.getlist("RateLimit-Policy") == [policy]
    assert response.headers.getlist("RateLimit") == [
        f'"limited-4-per-30-seconds";r=0;t={retry_after};pk=:{pk}:'
    ]
    # The documented contract stays as it was.
    for name in RATE_HEADERS:
        assert len(response.headers.getlist(name)) == 1


def test_successful_responses_keep_flask_limiter_headers() -> None:
    app, _ = _make("5/minute", config={"RATELIMIT_HEADERS_ENABLED": True})
    response = app.test_client().get("/limited")
    assert response.status_code == 200
    assert response.headers.getlist("X-RateLimit-Remaining") == ["4"]


def test_other_429s_get_no_rate_limit_headers() -> None:
    app, _ = _make(config={"RATELIMIT_HEADERS_ENABLED": False})

    @app.get("/busy")
    def busy() -> Response:
        return Response("{}", status=429)

    response = app.test_client().get("/busy")
    assert response.status_code == 429
    assert "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize("headers_enabled", [False, True])
def test_where_apierrors_is_off_flask_limiters_429_keeps_its_headers(
    headers_enabled: bool,
) -> None:
    # The HTML 429 of a page where ApiErrors is off got X-RateLimit-* and
    # Retry-After that flask-limiter alone does not send, and a Retry-After
    # of flask-limiter's own was rewritten.
    outcomes = []
    for with_apierrors in (False, True):
        app = Flask("pages")
        app.config["RATELIMIT_HEADERS_ENABLED"] = headers_enabled
        limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
        if with_apierrors:
            ApiErrors(app, enabled=False)

        @app.post("/login")
        @limiter.limit("1/minute")
        def login() -> str:
            return "<p>welcome</p>"

        client = app.test_client()
        assert client.post("/login").status_code == 200
        refused = client.post("/login")
        assert (refused.status_code, refused.mimetype) == (429, "text/html")
        outcomes.append(
            {k: v for k, v in refused.headers.items() if k in RATE_HEADERS or k == "Retry-After"}
        )
    without, with_ = outcomes
    assert with_.keys() == without.keys()
    assert bool(with_) is headers_enabled
    assert abs(int(with_.get("Retry-After", 0)) - int(without.get("Retry-After", 0))) <= 1


def test_limits_as_context_manager_and_default_limits() -> None:
    app = Flask("cm")
    ApiErrors(app, format="error")
    limiter = Limiter(
        lambda: "client", app=app, storage_uri="memory://", default_limits=["2/minute"]
    )

    @app.get("/default")
    def default() -> str:
        return "ok"

    @app.get("/block")
    @limiter.exempt
    def block() -> str:
        with limiter.limit("1/minute"):
            return "ok"

    client = app.test_client()
    body = _exhaust(client, 2, "/default").get_json()
    assert body["details"]["limit"] == 2
    response = _exhaust(client, 1, "/block")
    assert response.get_json()["details"]["limit"] == 1
    assert len(response.headers.getlist("Retry-After")) == 1


def test_the_reported_limit_when_several_are_breached() -> None:
    app, _ = _make(
        "1/minute;1/hour",
        config={"RATELIMIT_FAIL_ON_FIRST_BREACH": False, "RATELIMIT_HEADERS_ENABLED": True},
        format="error",
        ratelimit_details=DETAILS_ALL,
    )
    response = _exhaust(app.test_client(), 1)
    details = _details(response.get_json())
    # The reported limit is the exception's; the wait is the longest.
    assert details["window"] == "1 minute"
    assert details["reset"] - time.time() <= 61
    assert 3599 <= details["retry_after"] <= 3601
    assert response.headers.getlist("Retry-After") == [str(details["retry_after"])]
    assert response.headers.getlist("X-RateLimit-Reset") == [str(details["reset"])]
