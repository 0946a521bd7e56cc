"""Faults in the error path itself: a user error handler that raises, a format
that raises, a value that cannot be serialised, hooks that raise. Whatever
breaks, the client gets a JSON body with the correlation id and nothing of
the exception's text.

:func:`create_fault_app` is also served by gunicorn in
``test_reliability_gunicorn.py``.
"""

from __future__ import annotations

import json
import logging
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import request

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Problem
from flask_apierrors.correlation import VALID_ID

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

#: In every exception message raised here; must never reach a client.
SECRET: t.Final = "s3cr3t-internal-detail"


class Exploding(Exception):
    """An exception whose text cannot even be read."""

    def __str__(self) -> str:
        raise RuntimeError(SECRET)


class BrokenFormatError(ApiError):
    error_code = "broken_format"
    status = 409
    message = "Rendered by a format that raises"
    format = "broken"


class GarbageFormatError(ApiError):
    error_code = "garbage_format"
    status = 409
    message = "Rendered by a format that returns what JSON cannot hold"
    format = "garbage"


def _broken_format(problem: Problem) -> t.Mapping[str, t.Any]:
    raise RuntimeError(SECRET)


def _garbage_format(problem: Problem) -> t.Mapping[str, t.Any]:
    return {"error": problem.code, "payload": object()}


def _circular() -> dict[str, t.Any]:
    loop: dict[str, t.Any] = {"secret": SECRET}
    loop["self"] = loop
    return loop


def create_fault_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """An app whose error handling breaks in every way we know of.

    :param config: Extra ``app.config`` values.
    """
    app = Flask("fault_app")
    app.config.update(MAX_CONTENT_LENGTH=1024, **(config or {}))
    errors = ApiErrors(app, log_client_errors=True)
    errors.register_format("broken", _broken_format)
    errors.register_format("garbage", _garbage_format)

    @app.errorhandler(LookupError)
    def lookup_error(e: LookupError) -> ResponseReturnValue:
        raise RuntimeError(SECRET)

    @app.get("/ok")
    def ok() -> ResponseReturnValue:
        return {"ok": True}

    @app.post("/echo")
    def echo() -> ResponseReturnValue:
        return {"bytes": len(request.get_data())}

    @app.get("/handler-raises")
    def handler_raises() -> ResponseReturnValue:
        raise KeyError(SECRET)

    @app.get("/format-raises")
    def format_raises() -> ResponseReturnValue:
        raise BrokenFormatError()

    @app.get("/format-garbage")
    def format_garbage() -> ResponseReturnValue:
        raise GarbageFormatError()

    @app.get("/details/object")
    def details_object() -> ResponseReturnValue:
        raise ApiError("conflict", details={"value": object(), "note": SECRET})

    @app.get("/details/nan")
    def details_nan() -> ResponseReturnValue:
        raise ApiError("conflict", details={"ratio": float("nan"), "note": SECRET})

    @app.get("/details/circular")
    def details_circular() -> ResponseReturnValue:
        raise ApiError("conflict", details=_circular())

    @app.get("/details/bytes-key")
    def details_bytes_key() -> ResponseReturnValue:
        raise ApiError("conflict", details={b"raw": SECRET})  # type: ignore[dict-item]

    @app.get("/header-injection")
    def header_injection() -> ResponseReturnValue:
        raise ApiError("conflict", headers={"X-Note": f"a\r\nSet-Cookie: {SECRET}"})

    @app.get("/success-unserialisable")
    def success_unserialisable() -> ResponseReturnValue:
        return {"value": object(), "note": SECRET}

    @app.get("/str-raises")
    def str_raises() -> ResponseReturnValue:
        raise Exploding()

    # Hooks that raise, on a blueprint so the rest of the app is unaffected.
    hooks = Blueprint("hooks", __name__, url_prefix="/hooks")

    @hooks.after_request
    def after(response: Response) -> Response:
        raise RuntimeError(SECRET)

    @hooks.get("/after/ok")
    def after_ok() -> ResponseReturnValue:
        return {"ok": True}

    @hooks.get("/after/error")
    def after_error() -> ResponseReturnValue:
        raise ApiError("not_found", details={"note": "the after_request hook raises next"})

    app.register_blueprint(hooks)

    before = Blueprint("before", __name__, url_prefix="/before")

    @before.before_request
    def before_hook() -> None:
        raise RuntimeError(SECRET)

    @before.get("/ok")
    def before_ok() -> ResponseReturnValue:
        return {"ok": True}

    app.register_blueprint(before)

    handlers = Blueprint("handlers", __name__, url_prefix="/bp")

    @handlers.errorhandler(404)
    def bp_not_found(e: Exception) -> ResponseReturnValue:
        raise RuntimeError(SECRET)

    @handlers.get("/missing")
    def bp_missing() -> ResponseReturnValue:
        abort(404)

    app.register_blueprint(handlers)
    return app


#: (path, status) of every fault; each must still answer JSON with an id.
FAULTS: t.Final = [
    ("/handler-raises", 500),
    ("/format-raises", 500),
    ("/header-injection", 500),
    ("/success-unserialisable", 500),
    ("/str-raises", 500),
    ("/hooks/after/ok", 500),
    ("/hooks/after/error", 500),
    ("/before/ok", 500),
    ("/bp/missing", 500),
]


@pytest.fixture
def fault_app() -> Flask:
    return create_fault_app()


def check_json_error(
    status: int, headers: t.Mapping[str, str], body: bytes, expected_status: int
) -> dict[str, t.Any]:
    """The checks every fault response must pass; returns the parsed body.

    :param headers: The response headers (any name case).
    """
    assert status == expected_status
    lower = {name.lower(): value for name, value in headers.items()}
    assert lower["content-type"].split(";")[0] in ("application/json", "application/problem+json")
    data = json.loads(body)
    assert isinstance(data, dict)
    assert SECRET not in body.decode("utf-8")
    assert all(SECRET not in value for value in lower.values())
    cid = lower["x-request-id"]
    assert VALID_ID.fullmatch(cid)
    assert data["correlation_id"] == cid
    return data


@pytest.mark.parametrize(("path", "status"), FAULTS)
def test_fault_answers_json_with_the_generated_id(fault_app: Flask, path: str, status: int) -> None:
    response = fault_app.test_client().get(path)
    data = check_json_error(response.status_code, dict(response.headers), response.data, status)
    assert data["error"] == "internal_server_error"
    assert data["details"]["error_id"].startswith("err_")


@pytest.mark.parametrize(("path", "status"), FAULTS)
def test_fault_keeps_the_clients_id(fault_app: Flask, path: str, status: int) -> None:
    response = fault_app.test_client().get(path, headers={"X-Request-ID": "fault-trace.42"})
    data = check_json_error(response.status_code, dict(response.headers), response.data, status)
    assert data["correlation_id"] == "fault-trace.42"


@pytest.mark.parametrize(("path", "status"), FAULTS)
def test_fault_is_logged_with_its_ids(
    fault_app: Flask, caplog: pytest.LogCaptureFixture, path: str, status: int
) -> None:
    caplog.set_level(logging.INFO)
    response = fault_app.test_client().get(path, headers={"X-Request-ID": "fault-log.7"})
    error_id = response.get_json()["details"]["error_id"]
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(error_id in line and "fault-log.7" in line for line in lines), lines


def test_non_finite_numbers_in_details_are_null(fault_app: Flask) -> None:
    # As JSON cannot hold NaN, it is written as null; the error keeps its
    # status and the rest of its details.
    response = fault_app.test_client().get("/details/nan")
    assert response.status_code == 409
    body = json.loads(response.data)
    assert body["details"] == {"ratio": None, "note": SECRET}
    assert b"NaN" not in response.data


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/details/object", {"details": {"value": "<object>", "note": SECRET}}),
        (
            "/details/circular",
            {"details": {"secret": SECRET, "self": {"secret": SECRET, "self": "...[omitted]"}}},
        ),
        ("/details/bytes-key", {"details": {"raw": SECRET}}),
        ("/format-garbage", {"error": "garbage_format", "payload": "<object>"}),
    ],
)
def test_values_of_no_json_form_keep_the_status(
    fault_app: Flask, path: str, expected: dict[str, t.Any]
) -> None:
    # Written as JSON can hold them (a type's name, a cycle cut, a key as
    # text): the error the app raised, not a 500.
    response = fault_app.test_client().get(path)
    assert response.status_code == 409
    body = json.loads(response.data)
    assert {key: body[key] for key in expected} == expected


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ok", 200), ("/no/such/route", 404), ("/format-raises", 500)],
)
def test_each_request_gets_its_own_id(fault_app: Flask, path: str, status: int) -> None:
    client = fault_app.test_client()
    ids = set()
    for _ in range(20):
        response = client.get(path)
        assert response.status_code == status
        ids.add(response.headers["X-Request-ID"])
    assert len(ids) == 20


def test_app_keeps_answering_after_every_fault(fault_app: Flask) -> None:
    client = fault_app.test_client()
    for _ in range(3):
        for path, _status in FAULTS:
            client.get(path)
        response = client.get("/ok")
        assert response.status_code == 200
        assert response.get_json() == {"ok": True}
