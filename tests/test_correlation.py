from __future__ import annotations

import logging
import re
import typing as t

import pytest
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import get_correlation_id
from flask_apierrors.correlation import CorrelationIdFilter
from flask_apierrors.correlation import escape_log

from .conftest import MakeApp

GENERATED = re.compile(r"req_[0-9a-f]{16}")


@pytest.mark.parametrize(
    "value",
    ["abc", "req_abc123", "A.b-c_9", "x" * 128, "0", "-a", "._-9", "z" + "-" * 127],
)
def test_valid_incoming_id_is_reused(app: Flask, value: str) -> None:
    response = app.test_client().get("/missing", headers={"X-Request-ID": value})
    assert response.headers["X-Request-ID"] == value
    assert response.get_json()["correlation_id"] == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 129,
        "x" * 8192,
        "has space",
        "semi;colon",
        "new\\nline",
        "\x1b[31mred",
        "tab\there",
        "caf\u00e9",
        "a/b",
    ],
)
def test_invalid_incoming_id_is_replaced(app: Flask, value: str) -> None:
    response = app.test_client().get("/missing", headers={"X-Request-ID": value})
    new = response.headers["X-Request-ID"]
    assert GENERATED.fullmatch(new)
    assert response.get_json()["correlation_id"] == new
    assert value not in response.get_data(as_text=True) or value == ""


@pytest.mark.parametrize("value", ["-", "..", "._-", "_", "-" * 128])
def test_an_id_without_a_letter_or_digit_is_replaced(
    app: Flask, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    # A lone "-" would read like the placeholder of log lines outside any request.
    @app.get("/log")
    def log() -> str:
        app.logger.warning("inside")
        return "ok"

    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/log", headers={"X-Request-ID": value})
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])
    (record,) = [r for r in caplog.records if r.getMessage() == "inside"]
    assert getattr(record, "correlation_id") == response.headers["X-Request-ID"]  # noqa: B009


def test_header_names_are_configurable(make_app: MakeApp) -> None:
    app, _ = make_app(request_id_headers=("X-Trace",), response_id_header="X-Trace")
    response = app.test_client().get("/missing", headers={"X-Trace": "t-1", "X-Request-ID": "r"})
    assert response.headers["X-Trace"] == "t-1"
    assert "X-Request-ID" not in response.headers


def test_second_header_is_a_fallback(app: Flask) -> None:
    response = app.test_client().get("/missing", headers={"X-Correlation-ID": "c-1"})
    assert response.headers["X-Request-ID"] == "c-1"


def test_one_id_per_request(app: Flask) -> None:
    seen: list[str | None] = []

    @app.get("/twice")
    def twice() -> str:
        seen.extend([get_correlation_id(), get_correlation_id()])
        return "ok"

    response = app.test_client().get("/twice")
    assert seen[0] == seen[1] == response.headers["X-Request-ID"]


def test_outside_a_request_there_is_none(app: Flask) -> None:
    assert get_correlation_id() is None
    with app.app_context():
        assert get_correlation_id() is None


def test_log_filter(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    @app.get("/log")
    def log() -> str:
        app.logger.warning("inside")
        return "ok"

    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/log")
    (record,) = [r for r in caplog.records if r.getMessage() == "inside"]
    assert getattr(record, "correlation_id") == response.headers["X-Request-ID"]  # noqa: B009

    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    CorrelationIdFilter().filter(outside)
    assert getattr(outside, "correlation_id") == "-"  # noqa: B009


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a\nb", "a\\nb"),
        ("\x1b[31mred", "\\x1b[31mred"),
        ("nel\x85", "nel\\x85"),
        ("sep\u2028", "sep\\u2028"),
        ("plain", "plain"),
    ],
)
def test_escape_log(raw: str, escaped: str) -> None:
    assert escape_log(raw) == escaped


def test_flasks_exception_line_is_escaped(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app, _ = make_app(config={"TESTING": False})

    @app.before_request
    def boom() -> None:
        raise RuntimeError("x")

    with caplog.at_level(logging.ERROR):
        app.test_client().get("/a%0AFAKE%20LOG%20LINE%1b[31m")
    (record,) = caplog.records
    message = record.getMessage()
    assert "\n" not in message and "\x1b" not in message
    assert "a\\nFAKE LOG LINE\\x1b[31m" in message


def test_other_error_records_are_left_alone(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    @app.get("/log")
    def log() -> str:
        try:
            raise ValueError("x")
        except ValueError:
            app.logger.exception("handled here")
        return "ok"

    with caplog.at_level(logging.ERROR):
        app.test_client().get("/log")
    (record,) = caplog.records
    assert record.getMessage() == "handled here"


def test_exception_text_in_a_logged_traceback_is_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask("forged_log")
    ApiErrors(app)

    @app.get("/boom")
    def boom() -> t.NoReturn:
        raise ValueError("bad\nCRITICAL forged \x1b[31mred\u202eevil")

    with caplog.at_level(logging.ERROR):
        assert app.test_client().get("/boom").status_code == 500
    text = caplog.text
    assert "ValueError: bad\\nCRITICAL forged \\x1b[31mred\\u202eevil" in text
    assert "\nCRITICAL forged" not in text
    assert "\x1b" not in text and "\u202e" not in text
    assert 'File "' in text  # the frames are still there
