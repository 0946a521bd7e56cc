"""ConcurrencyLimiter on memory storage: the documented 429, keys, scopes and
the application limit, and its settings (releasing slots, expiry and storage
outages are in the test_concurrency_*.py modules). Redis storage across
gunicorn workers is tested in test_limits_gunicorn.py."""

from __future__ import annotations

import asyncio
import json
import re
import typing as t

import pytest
from flask import Flask
from flask import Response
from flask import request

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors.concurrency import ConcurrentLimitExceeded
from flask_apierrors.limits_storage import MemoryConcurrencyStorage
from tests.support.concurrency_apps import hold as _hold
from tests.support.concurrency_apps import setup_app as _setup
from tests.support.seeds import seed_examples


def _seed_body() -> dict[str, t.Any]:
    for entry in seed_examples():
        if entry["example"] == "Concurrent Limit Exceeded":
            body: dict[str, t.Any] = entry["body"]
            return body
    raise LookupError("Concurrent Limit Exceeded")


# -- the documented 429 ---------------------------------------------------------------------


def test_documented_body() -> None:
    setup = _setup(limit=5, concurrency_retry_after=10)
    client = setup.app.test_client()
    held = [_hold(client) for _ in range(5)]
    response = client.get("/ok", headers={"X-Key": "k"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "10"
    body = response.get_json()
    body.pop("correlation_id")
    seed = _seed_body()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    body["timestamp"] = seed["timestamp"]
    assert body == seed
    for r in held:
        r.close()
    assert client.get("/ok", headers={"X-Key": "k"}).status_code == 200


@pytest.mark.parametrize(
    ("fmt", "code_path"),
    [("error_code", ("error_code",)), ("detail", ("detail", "code"))],
)
def test_first_api_formats(fmt: str, code_path: tuple[str, ...]) -> None:
    app = Flask("fmt")
    ApiErrors(app, format=fmt)
    limiter = ConcurrencyLimiter(app)

    @app.get("/")
    @limiter.limit(1, retry_after=7, error_message="One at a time")
    def index() -> Response:
        return Response(iter(["a", "b"]))

    client = app.test_client()
    held = client.get("/")
    body = client.get("/").get_json()
    held.close()
    node: t.Any = body
    for key in code_path:
        node = node[key]
    assert node == "CONCURRENT_LIMIT_EXCEEDED"
    assert "One at a time" in json.dumps(body)
    assert '"retry_after": 7' in json.dumps(body)


# -- keys, scopes and the application limit -------------------------------------------------


def test_keys_are_counted_apart_and_empty_keys_not_at_all() -> None:
    setup = _setup(limit=1)
    client = setup.app.test_client()
    held = _hold(client, key="alice")
    assert client.get("/ok", headers={"X-Key": "bob"}, buffered=True).status_code == 200
    assert client.get("/ok", headers={"X-Key": "alice"}).status_code == 429
    unkeyed = [client.get("/hold") for _ in range(3)]
    assert [r.status_code for r in unkeyed] == [200, 200, 200]
    for response in [held, *unkeyed]:
        response.close()


def test_keys_are_not_stored_in_clear() -> None:
    storage = MemoryConcurrencyStorage()
    app = Flask("digest")
    ApiErrors(app)
    limiter = ConcurrencyLimiter(app, key_func=lambda: "sk-secret-api-key", storage=storage)

    @app.get("/")
    @limiter.limit(1)
    def index() -> Response:
        return Response(iter(["x"]))

    response = app.test_client().get("/")
    assert len(storage._slots) == 1
    assert not any("sk-secret" in key for key in storage._slots)
    response.close()


def test_application_limit_spans_views_and_respects_exempt() -> None:
    app = Flask("app-wide")
    ApiErrors(app, format="error")
    limiter = ConcurrencyLimiter(app, application_limit=2)

    @app.get("/a")
    def a() -> Response:
        return Response(iter(["a"]))

    @app.get("/b")
    def b() -> Response:
        return Response(iter(["b"]))

    @app.get("/health")
    @limiter.exempt
    def health() -> Response:
        return Response(iter(["ok"]))

    client = app.test_client()
    held = [client.get("/a"), client.get("/b")]
    refused = client.get("/a")
    assert refused.status_code == 429
    assert refused.get_json()["details"] == {
        "concurrent_limit": 2,
        "current_concurrent": 3,
        "retry_after": 1,
    }
    assert client.get("/health", buffered=True).status_code == 200
    assert client.get("/missing").status_code == 404  # routing errors hold no slot
    for response in held:
        response.close()
    assert client.get("/b", buffered=True).status_code == 200


def _check_app_wide(app: Flask, limiter: ConcurrencyLimiter, *, limited: bool) -> None:
    """Two streamed responses held at once from one key: the second is refused
    with an application limit of 1, and all is given back once both close."""

    @app.get("/a")
    def a() -> Response:
        return Response(iter(["a"]))

    client = app.test_client()
    first = client.get("/a")
    with app.app_context():
        assert limiter.in_flight("k") == (1 if limited else 0)
    second = client.get("/a")
    assert second.status_code == (429 if limited else 200)
    for response in (first, second):
        response.close()
    assert client.get("/a", buffered=True).status_code == 200


@pytest.mark.parametrize("app_limit", [None, 1])
def test_application_check_applies_only_with_an_application_limit(app_limit: int | None) -> None:
    app = Flask("app-wide-check")
    ApiErrors(app, format="error")
    limiter = ConcurrencyLimiter(app, key_func=lambda: "k", application_limit=app_limit)
    _check_app_wide(app, limiter, limited=app_limit is not None)


def test_an_app_without_application_limit_gets_no_per_request_hook() -> None:
    app = Flask("no-app-limit")
    ApiErrors(app, format="error")
    before = list(app.before_request_funcs.get(None, ()))
    ConcurrencyLimiter(app, key_func=lambda: "k")
    assert app.before_request_funcs.get(None, []) == before


def test_an_application_limit_given_by_apierrors_set_up_later_applies() -> None:
    app = Flask("app-limit-later")
    limiter = ConcurrencyLimiter(app, key_func=lambda: "k")
    ApiErrors(app, format="error", concurrency_application_limit=1)
    _check_app_wide(app, limiter, limited=True)
    # One check per request, however often the settings were read again.
    hooks = [f for f in app.before_request_funcs[None] if getattr(f, "__self__", None) is limiter]
    assert len(hooks) == 1


def test_callable_limit_and_options_from_config() -> None:
    app = Flask("config")
    app.config["APIERRORS_CONCURRENCY_RETRY_AFTER"] = 4
    app.config["APIERRORS_CONCURRENCY_APPLICATION_LIMIT"] = 5
    limiter = ConcurrencyLimiter(key_func=lambda: "k")
    limiter.init_app(app)
    ApiErrors(app, format="error")

    @app.get("/")
    @limiter.limit(lambda: int(request.args["n"]))
    def index() -> Response:
        return Response(iter(["x"]))

    client = app.test_client()
    held = client.get("/?n=1")
    response = client.get("/?n=1")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "4"
    assert client.get("/?n=3", buffered=True).status_code == 200
    held.close()


def test_setup_errors() -> None:
    app = Flask("errors")
    limiter = ConcurrencyLimiter(app)
    with pytest.raises(RuntimeError, match="already set up"):
        limiter.init_app(app)
    with pytest.raises(TypeError, match="concurrency_slot_tll"):
        ConcurrencyLimiter(concurrency_slot_tll=3)
    with pytest.raises(ValueError, match="at least 1"):
        limiter.limit(0)
    with pytest.raises(ValueError, match="positive"):
        ConcurrencyLimiter(Flask("ttl"), concurrency_slot_ttl=0)


def _one_line_value_error(excinfo: pytest.ExceptionInfo[ValueError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert "memory://" in message
    return message


def test_an_unsupported_storage_uri_fails_at_setup() -> None:
    with pytest.raises(ValueError) as excinfo:
        ConcurrencyLimiter(storage_uri="memcached://cache:11211")
    assert "'memcached'" in _one_line_value_error(excinfo)

    app = Flask("from-config")
    app.config["APIERRORS_CONCURRENCY_STORAGE_URI"] = "mongodb://db/limits"
    with pytest.raises(ValueError) as excinfo:
        ConcurrencyLimiter(app)
    assert "'mongodb'" in _one_line_value_error(excinfo)

    # Checked when ApiErrors is set up, with or without a limiter.
    with pytest.raises(ValueError) as excinfo:
        ApiErrors(Flask("from-options"), concurrency_storage_uri="valkey+sentinel://h:1/m")
    assert "'valkey+sentinel'" in _one_line_value_error(excinfo)


def test_a_bad_single_server_uri_fails_at_setup_naming_the_setting() -> None:
    uri = "redis://:s3cret@cache:63 79/0"
    with pytest.raises(ValueError) as excinfo:
        ApiErrors(Flask("from-options"), concurrency_storage_uri=uri)
    message = _one_line_value_error(excinfo)
    assert message.startswith(
        "APIERRORS_CONCURRENCY_STORAGE_URI='redis://:***@cache:63 79/0' is not valid:"
        " 'cache:63 79' is not host:port; use memory:// or redis://host:port/db,"
    )
    assert "s3cret" not in message

    app = Flask("from-config")
    app.config["APIERRORS_CONCURRENCY_STORAGE_URI"] = "redis://cache:6379/one"
    with pytest.raises(ValueError) as excinfo:
        ApiErrors(app)
    assert "database number" in _one_line_value_error(excinfo)
    with pytest.raises(ValueError) as excinfo:
        ConcurrencyLimiter(storage_uri="unix://")
    assert "APIERRORS_CONCURRENCY_STORAGE_URI='unix://'" in _one_line_value_error(excinfo)

    app = Flask("late")
    limiter = ConcurrencyLimiter(app, key_func=lambda: "k")
    ApiErrors(app, format="error", concurrency_retry_after=9)

    @app.get("/")
    @limiter.limit(1)
    def index() -> Response:
        return Response(iter(["x"]))

    client = app.test_client()
    held = client.get("/")
    response = client.get("/")
    assert response.headers["Retry-After"] == "9"
    held.close()
    other = Flask("late-bad-uri")
    ConcurrencyLimiter(other)
    with pytest.raises(ValueError, match="'x'"):
        ApiErrors(other, concurrency_storage_uri="x://y")


def test_slots_outside_the_middleware_belong_to_their_request() -> None:
    # A suite that pushes app.app_context() keeps one ``g`` for all its
    # requests: the slots of one request must not be released by another's
    # teardown.
    setup = _setup(limit=2)
    view = setup.app.view_functions["ok"]
    with setup.app.app_context():
        with setup.app.test_request_context("/ok", headers={"X-Key": "k"}):
            view()
            with setup.app.test_request_context("/ok", headers={"X-Key": "k"}):
                view()
                assert setup.limiter.in_flight("k", "shared") == 2
            assert setup.limiter.in_flight("k", "shared") == 1
        assert setup.limiter.in_flight("k", "shared") == 0


def test_async_views_are_limited() -> None:
    app = Flask("async")
    ApiErrors(app)
    limiter = ConcurrencyLimiter(app, key_func=lambda: "k")

    @limiter.limit(1)
    async def view() -> str:
        await asyncio.sleep(0)
        return "done"

    with app.test_request_context():
        assert asyncio.run(view()) == "done"
        with pytest.raises(ConcurrentLimitExceeded):
            asyncio.run(view())
