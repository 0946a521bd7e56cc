"""Unhandled exceptions, faults while rendering, and how errors are logged."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Flask
from flask import Response
from flask import got_request_exception
from flask import request
from werkzeug.exceptions import ServiceUnavailable

from flask_apierrors import ApiError
from flask_apierrors import Problem

from .conftest import MakeApp

# -- unhandled exceptions --------------------------------------------------------


@pytest.fixture
def prod_app(make_app: MakeApp) -> Flask:
    app, _ = make_app(config={"TESTING": False})

    @app.get("/boom")
    def boom() -> str:
        raise KeyError("internal detail 42")

    return app


def test_unhandled_exception_hides_internals(prod_app: Flask) -> None:
    response = prod_app.test_client().get("/boom")
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    assert "internal detail" not in text and "KeyError" not in text and "Traceback" not in text
    body = response.get_json()
    assert body["error"] == "internal_server_error"
    assert body["details"]["support_message"] == "Please contact support with this error ID"
    assert body["details"]["error_id"] != body["correlation_id"]


def test_traceback_logged_once_with_both_ids(
    prod_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        body = prod_app.test_client().get("/boom").get_json()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    record = errors[0]
    assert record.exc_info is not None and record.exc_info[0] is KeyError
    message = record.getMessage()
    assert body["details"]["error_id"] in message
    assert body["correlation_id"] in message
    assert getattr(record, "correlation_id") == body["correlation_id"]  # noqa: B009


def test_got_request_exception_still_fires(prod_app: Flask) -> None:
    seen: list[BaseException] = []

    def receiver(sender: Flask, exception: BaseException, **extra: t.Any) -> None:
        seen.append(exception)

    with got_request_exception.connected_to(receiver, prod_app):
        prod_app.test_client().get("/boom")
    assert len(seen) == 1 and isinstance(seen[0], KeyError)


def test_testing_mode_propagates(make_app: MakeApp) -> None:
    """The documented way to test 500s: TESTING off (or PROPAGATE_EXCEPTIONS
    False); with TESTING on, Flask re-raises as it documents."""
    app, _ = make_app()

    @app.get("/boom")
    def boom() -> str:
        raise KeyError("x")

    with pytest.raises(KeyError):
        app.test_client().get("/boom")


def test_debug_shows_the_exception(make_app: MakeApp) -> None:
    app, _ = make_app(config={"TESTING": False, "DEBUG": True, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom")
    def boom() -> str:
        raise KeyError("visible in debug")

    debug = app.test_client().get("/boom").get_json()["details"]["debug"]
    assert debug["type"] == "KeyError"
    assert "visible in debug" in debug["message"]


def test_server_api_error_logged_at_error(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app()

    class DatabaseException(ApiError):
        status = 500
        message = "Database operation failed"

    @app.get("/db")
    def db() -> str:
        try:
            raise OSError("disk gone")
        except OSError as e:
            raise DatabaseException() from e

    with caplog.at_level(logging.ERROR):
        body = app.test_client().get("/db").get_json()
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert body["correlation_id"] in record.getMessage()
    # The exception itself, whose traceback shows its cause.
    assert record.exc_info is not None and record.exc_info[0] is DatabaseException
    assert isinstance(record.exc_info[1].__cause__, OSError)


# -- faults while rendering -------------------------------------------------------


def test_formatter_that_raises(make_app: MakeApp, caplog: pytest.LogCaptureFixture) -> None:
    def broken(problem: Problem) -> dict[str, t.Any]:
        raise ValueError("formatter bug")

    app, _ = make_app(format=broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/x", headers={"X-Request-ID": "trace-1"})
    assert response.status_code == 500
    body = response.get_json()
    assert body["correlation_id"] == "trace-1" == response.headers["X-Request-ID"]
    assert body["details"]["error_id"] in caplog.text
    assert "formatter bug" not in response.get_data(as_text=True)


def test_unserialisable_detail(app: Flask) -> None:
    @app.get("/odd")
    def odd() -> str:
        raise ApiError("conflict", details={"thing": object()})

    # The error keeps its status; the value is written as its type's name.
    response = app.test_client().get("/odd")
    assert response.status_code == 409
    assert response.get_json()["details"] == {"thing": "<object>"}


def test_after_request_that_raises(make_app: MakeApp) -> None:
    app, _ = make_app(config={"TESTING": False})

    @app.get("/ok")
    def ok() -> str:
        return "ok"

    @app.after_request
    def broken(response: Response) -> Response:
        raise RuntimeError("hook bug")

    response = app.test_client().get("/ok", headers={"X-Request-ID": "abc-1"})
    assert response.status_code == 500
    assert response.get_json()["correlation_id"] == "abc-1"
    assert response.headers["X-Request-ID"] == "abc-1"


def test_a_user_handler_that_raises(make_app: MakeApp) -> None:
    app, _ = make_app(config={"TESTING": False})

    class Custom(Exception):
        pass

    @app.errorhandler(Custom)
    def handle(e: Custom) -> str:
        raise RuntimeError("handler bug")

    @app.get("/c")
    def c() -> str:
        raise Custom()

    response = app.test_client().get("/c")
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"


def test_success_responses_carry_the_id(app: Flask) -> None:
    @app.get("/ok")
    def ok() -> str:
        return "ok"

    response = app.test_client().get("/ok", headers={"X-Request-ID": "id-7"})
    assert response.headers["X-Request-ID"] == "id-7"


def test_huge_integer_is_invalid_json(app: Flask) -> None:
    @app.post("/j")
    def j() -> t.Any:
        return request.get_json()

    response = app.test_client().post(
        "/j", data='{"n": ' + "9" * 5000 + "}", content_type="application/json"
    )
    body = response.get_json()
    assert (response.status_code, body["error"]) == (400, "invalid_json")
    assert body["details"] == {"json_error": "Invalid JSON value"}


def test_validation_error_code_follows_the_configured_status(make_app: MakeApp) -> None:
    app, _ = make_app(validation_status=422)

    @app.get("/v")
    def v() -> str:
        raise ApiError("validation_error")

    assert app.test_client().get("/v").status_code == 422


@pytest.mark.parametrize(
    ("code", "level"), [("service_unavailable", "WARNING"), ("bad_gateway", "ERROR")]
)
def test_server_errors_are_logged_at_their_level(
    app: Flask, caplog: pytest.LogCaptureFixture, code: str, level: str
) -> None:
    @app.get("/e")
    def e() -> str:
        raise ApiError(code)

    with caplog.at_level(logging.INFO):
        app.test_client().get("/e")
    assert [r.levelname for r in caplog.records] == [level]


def test_client_errors_logged_when_asked(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app(log_client_errors=True)
    with caplog.at_level(logging.INFO):
        app.test_client().get("/missing\x1b")
    (record,) = caplog.records
    assert record.levelname == "INFO" and "404 not_found" in record.getMessage()


@pytest.mark.parametrize("caused", [False, True])
def test_a_503_is_logged_at_warning_with_the_traceback_of_a_cause_only(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture, caused: bool
) -> None:
    # Maintenance and overload answer 503 on purpose, on every request of
    # their time: a traceback of the raise would fill the log.
    app, _ = make_app()

    @app.get("/busy")
    def busy() -> str:
        if not caused:
            raise ServiceUnavailable(retry_after=5)
        try:
            raise OSError("queue gone")
        except OSError as e:
            raise ServiceUnavailable(retry_after=5) from e

    with caplog.at_level(logging.WARNING):
        assert app.test_client().get("/busy").status_code == 503
    (record,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.WARNING
    if caused:
        assert record.exc_info is not None and record.exc_info[0] is OSError
    else:
        assert not record.exc_info


class PaymentDeclined(Exception):
    pass


@pytest.mark.parametrize("include_correlation_id", [True, False])
def test_a_problem_a_converter_builds_itself_gets_the_request_facts(
    make_app: MakeApp, include_correlation_id: bool
) -> None:
    app, errors = make_app(include_correlation_id=include_correlation_id)
    errors.register_converter(
        PaymentDeclined,
        lambda e, ctx: Problem(status=402, code="payment_declined", message="Declined"),
    )

    @app.get("/pay")
    def pay() -> t.NoReturn:
        raise PaymentDeclined()

    client = app.test_client()
    response = client.get("/pay")
    body = response.get_json()
    assert response.status_code == 402 and body["timestamp"]
    assert body.get("correlation_id") == (
        response.headers["X-Request-ID"] if include_correlation_id else None
    )
    problem = client.get("/pay", headers={"Accept": "application/problem+json"}).get_json()
    assert (problem["title"], problem["instance"]) == ("Payment Required", "/pay")
