"""flask-limiter options that meet the extension's own: fail-closed with
``swallow_errors`` / ``in_memory_fallback``, one ``Limiter`` shared by
several apps, ``header_name_mapping``, and an ``on_breach`` Retry-After."""

from __future__ import annotations

import time
import typing as t

import pytest
from flask import Flask
from flask import Response
from werkzeug.http import http_date

from flask_apierrors import ApiErrors

pytest.importorskip("flask_limiter")
from flask_limiter import HeaderNames  # noqa: E402
from flask_limiter import Limiter  # noqa: E402
from flask_limiter import RequestLimit  # noqa: E402

from flask_apierrors.ratelimit.guard import GuardedStorage  # noqa: E402

#: Nothing listens on port 1: a Redis that is down (connection refused).
DOWN = "redis://127.0.0.1:1/0"
FAST: dict[str, t.Any] = {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}


def _app(name: str = "policy") -> Flask:
    app = Flask(name)
    app.config["TESTING"] = True
    return app


# -- fail-closed with flask-limiter's own outage options ---------------------------------------

CATCHING = [
    pytest.param({"swallow_errors": True}, {}, "swallow_errors", id="swallow_errors"),
    pytest.param(
        {"in_memory_fallback_enabled": True}, {}, "in_memory_fallback_enabled", id="fallback"
    ),
    pytest.param(
        {"in_memory_fallback": ["10/minute"]}, {}, "in_memory_fallback_enabled", id="fallback-list"
    ),
    pytest.param(
        {}, {"RATELIMIT_SWALLOW_ERRORS": True}, "swallow_errors", id="RATELIMIT_SWALLOW_ERRORS"
    ),
]


@pytest.mark.parametrize(("limiter_options", "config", "option"), CATCHING)
def test_fail_closed_with_a_catching_limiter_fails_at_setup(
    limiter_options: dict[str, t.Any], config: dict[str, t.Any], option: str
) -> None:
    app = _app()
    app.config.update(config)
    Limiter(lambda: "client", app=app, storage_uri="memory://", **limiter_options)
    with pytest.raises(ValueError, match="APIERRORS_LIMITS_FAIL_OPEN") as info:
        ApiErrors(app, limits_fail_open=False)
    message = str(info.value)
    assert "\n" not in message
    assert f"{option}=True" in message
    assert "APIERRORS_RATELIMIT_GUARD_STORAGE = False" in message


@pytest.mark.parametrize(("limiter_options", "config", "option"), CATCHING)
def test_fail_closed_with_a_catching_limiter_set_up_later_fails_at_the_first_request(
    limiter_options: dict[str, t.Any], config: dict[str, t.Any], option: str
) -> None:
    app = _app()
    app.config.update(config)
    ApiErrors(app, limits_fail_open=False)
    Limiter(lambda: "client", app=app, storage_uri=DOWN, storage_options=FAST, **limiter_options)
    app.get("/")(lambda: "ok")
    client = app.test_client()
    for _ in range(2):  # every request, not a 200 after the first
        with pytest.raises(ValueError, match=f"contradicts .*{option}=True"):
            client.get("/")


@pytest.mark.parametrize(
    "options", [{"limits_fail_open": True}, {"ratelimit_guard_storage": False}, {}]
)
def test_catching_limiter_is_fine_without_fail_closed(options: dict[str, t.Any]) -> None:
    app = _app()
    ApiErrors(app, **options)
    Limiter(lambda: "client", app=app, storage_uri="memory://", swallow_errors=True)
    app.get("/")(lambda: "ok")
    assert app.test_client().get("/").status_code == 200


# -- one Limiter, several apps -----------------------------------------------------------------


@pytest.mark.parametrize("closed_first", [True, False])
def test_a_shared_limiter_follows_each_apps_policy(closed_first: bool) -> None:
    pytest.importorskip("redis")
    limiter = Limiter(
        lambda: "client", default_limits=["100/minute"], storage_uri=DOWN, storage_options=FAST
    )

    def create_app(fail_open: bool) -> Flask:
        app = _app(f"factory-{fail_open}")
        ApiErrors(app, limits_fail_open=fail_open, limits_retry_interval=60)
        limiter.init_app(app)
        app.get("/a")(lambda: {"ok": True})
        return app

    closed, opened = create_app(False), create_app(True)
    order = [(closed, 503), (opened, 200)]
    for app, status in order if closed_first else order[::-1]:
        for _ in range(2):
            response = app.test_client().get("/a")
            assert response.status_code == status
    response = closed.test_client().get("/a")
    assert response.get_json()["error"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) >= 1


def test_the_shared_storage_reads_the_policy_of_the_current_app() -> None:
    limiter = Limiter(lambda: "client", storage_uri="memory://")
    apps = {}
    for fail_open, guarded in ((False, True), (True, True), (False, False)):
        app = _app(f"{fail_open}-{guarded}")
        ApiErrors(app, limits_fail_open=fail_open, ratelimit_guard_storage=guarded)
        limiter.init_app(app)
        apps[fail_open, guarded] = app
    plain = _app("plain")
    limiter.init_app(plain)  # each init_app makes a new storage: guarded at a first request
    apps[False, True].test_client().get("/")
    storage = limiter.limiter.storage
    assert isinstance(storage, GuardedStorage)
    for (fail_open, guarded), app in apps.items():
        with app.app_context():
            assert storage.policy() is (fail_open if guarded else None)
    with plain.app_context():
        assert storage.policy() is None


# -- header names ------------------------------------------------------------------------------

MAPPING = {
    HeaderNames.LIMIT: "X-Limit",
    HeaderNames.REMAINING: "X-Remaining",
    HeaderNames.RESET: "X-Reset",
    HeaderNames.RETRY_AFTER: "X-Retry-After",
}
RATE_NAMES = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after")


@pytest.mark.parametrize("headers_enabled", [True, False])
@pytest.mark.parametrize("limit", ["1/minute", "1/second"])
def test_header_name_mapping_gives_one_set_of_headers(headers_enabled: bool, limit: str) -> None:
    app = _app()
    ApiErrors(app, format="error", ratelimit_details=("retry_after",))
    limiter = Limiter(
        lambda: "client",
        app=app,
        storage_uri="memory://",
        headers_enabled=headers_enabled,
        header_name_mapping=MAPPING,
    )
    app.get("/")(limiter.limit(limit)(lambda: "ok"))
    client = app.test_client()
    client.get("/")
    response = client.get("/")
    assert response.status_code == 429
    for name in MAPPING.values():
        assert len(response.headers.getlist(name)) == 1, name
    assert not [k for k, _ in response.headers if k.lower() in RATE_NAMES]
    retry_after = response.get_json()["details"]["retry_after"]
    assert response.headers["X-Retry-After"] == str(retry_after)
    assert retry_after >= (60 if limit == "1/minute" else 1)


# -- an on_breach callback's Retry-After -------------------------------------------------------


def _on_breach_response(own: str, **limiter_options: t.Any) -> Response:
    app = _app()
    ApiErrors(app)
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://", **limiter_options)

    def come_back_later(request_limit: RequestLimit) -> Response:
        return Response("{}", status=429, headers={"Retry-After": own})

    app.post("/")(limiter.limit("1/minute", on_breach=come_back_later)(lambda: "ok"))
    client = app.test_client()
    client.post("/")
    return client.post("/")  # type: ignore[return-value]


LIMITER_OPTIONS = [
    pytest.param({}, id="defaults"),
    pytest.param({"headers_enabled": True}, id="headers_enabled"),
    pytest.param({"headers_enabled": True, "retry_after": "http-date"}, id="http-date"),
]


@pytest.mark.parametrize("limiter_options", LIMITER_OPTIONS)
@pytest.mark.parametrize("own_date", [False, True])
def test_a_longer_on_breach_retry_after_is_kept_as_set(
    limiter_options: dict[str, t.Any], own_date: bool
) -> None:
    own = http_date(time.time() + 3600) if own_date else "3600"
    response = _on_breach_response(own, **limiter_options)
    assert response.headers.getlist("Retry-After") == [own]
    assert response.headers.getlist("X-RateLimit-Limit") == ["1"]


@pytest.mark.parametrize("limiter_options", LIMITER_OPTIONS)
@pytest.mark.parametrize("own_date", [False, True])
def test_a_shorter_on_breach_retry_after_gives_way(
    limiter_options: dict[str, t.Any], own_date: bool
) -> None:
    own = http_date(time.time() + 5) if own_date else "5"
    response = _on_breach_response(own, **limiter_options)
    assert 60 <= int(response.headers["Retry-After"]) <= 61
