"""Settings are checked at setup by their declared types and ranges, each in one line
naming the key; a format that cannot work fails where it is named."""

from __future__ import annotations

import dataclasses
import logging
import pathlib
import typing as t
from decimal import Decimal

import pytest
from flask import Blueprint
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors import config
from flask_apierrors import configvalues
from flask_apierrors.availability import Maintenance
from flask_apierrors.formats import ProblemFormat
from flask_apierrors.state import get_state

ONE_LINE: t.Final = r"^APIERRORS_{key}=.* is not valid: [^\n]+\.$"


class _Index:
    """What numpy's int64 is to Python: ``__index__``, no int subclass."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


class _Lazy:
    """Lazy text, as flask-babel's ``lazy_gettext`` gives it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __html__(self) -> str:
        return self.text


@pytest.mark.parametrize(
    ("key", "value"),
    [
        # Each became a 500 per request (or per error), not a setup error.
        ("TRANSLATE", "myapp.i18n:translate"),
        ("EXPECTED_CONTENT_TYPES", None),
        ("MAX_VALIDATION_ERRORS", None),
        ("MAX_VALIDATION_ERRORS", 2.5),
        ("MAX_VALIDATION_ERRORS", -1),
        ("REDACT_FIELDS", None),
        ("REDACT_FIELDS", 5),
        ("REDACT_FIELDS", ["password", 5]),
        ("SUPPORT_MESSAGE", None),
        ("ENABLED", None),
        ("PROBLEM_ON_ACCEPT", 2),
        ("MAX_VALUE_LENGTH", float("nan")),
        ("REQUEST_ID_HEADERS", None),
        ("RESPONSE_ID_HEADER", "Content-Type"),
        ("RESPONSE_ID_HEADER", "set-cookie"),
        ("CONCURRENCY_APPLICATION_LIMIT", -1),
        ("CONCURRENCY_APPLICATION_LIMIT", 0),
        ("CONCURRENCY_APPLICATION_LIMIT", "ten"),
        ("CONCURRENCY_SOCKET_TIMEOUT", -1),
        ("CONCURRENCY_SOCKET_TIMEOUT", 0),
        ("MAINTENANCE_EXEMPT", None),
        ("MAINTENANCE_CHECK_INTERVAL", None),
        ("RATELIMIT_MIN_RETRY_AFTER", 0),
        ("RATELIMIT_DETAILS", ["limit", "resets"]),
        ("RATELIMIT_MESSAGE", "{limit per"),
        ("LIMITS_FAIL_OPEN", "sometimes"),
    ],
)
def test_a_value_of_the_wrong_type_or_range_fails_at_setup_in_one_line(
    key: str, value: t.Any
) -> None:
    app = Flask(__name__)
    app.config["APIERRORS_" + key] = value
    with pytest.raises(ValueError, match=ONE_LINE.format(key=key)):
        ApiErrors(app)


def test_the_line_names_the_key_that_is_wrong() -> None:
    # A bad request id header was reported as APIERRORS_RESPONSE_ID_HEADER.
    with pytest.raises(ValueError, match="^APIERRORS_REQUEST_ID_HEADERS='X Trace'"):
        ApiErrors(Flask(__name__), request_id_headers=["X-Request-ID", "X Trace"])


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        # What os.environ, a .env file or from_prefixed_env give.
        ("CONCURRENCY_APPLICATION_LIMIT", "10", 10),
        ("REQUEST_ID_PREFIX", 2024, "2024"),
        ("MAX_VALIDATION_ERRORS", "5", 5),
        ("CONCURRENCY_SOCKET_TIMEOUT", "2", 2.0),
    ],
)
def test_values_from_an_environment_are_read_as_their_type(
    key: str, text: t.Any, expected: t.Any
) -> None:
    app = Flask(__name__)
    app.config["APIERRORS_" + key] = text
    ApiErrors(app)
    state = get_state(app)
    found = [
        getattr(state.settings_of(cls), key.lower())
        for cls in config.settings_classes()[1:]
        if key.lower() in config.field_names(cls)
    ] or [getattr(state.settings, key.lower())]
    assert found == [expected] and type(found[0]) is type(expected)


def test_lazy_text_is_text() -> None:
    flask_babel = pytest.importorskip("flask_babel")
    app = Flask("lazy")
    flask_babel.Babel(app)
    lazy = flask_babel.lazy_gettext
    ApiErrors(app, support_message=lazy("Call us"), ratelimit_message=lazy("Slow {limit}"))

    @app.get("/boom")
    def boom() -> str:
        raise KeyError("x")

    assert app.test_client().get("/boom").get_json()["details"]["support_message"] == "Call us"


@pytest.mark.parametrize(
    ("key", "given", "expected"),
    [
        # Flask's from_prefixed_env reads FLASK_APIERRORS_X=0 as the number 0.
        ("INCLUDE_CORRELATION_ID", 0, False),
        ("LOG_CLIENT_ERRORS", 1, True),
        # timedelta(minutes=10).total_seconds(), Decimal, numpy's int64.
        ("MAX_VALIDATION_ERRORS", 600.0, 600),
        ("MAX_VALUE_LENGTH", Decimal("50"), 50),
        ("MAX_VALIDATION_ERRORS", _Index(20), 20),
    ],
)
def test_numbers_and_switches_in_other_clothes_are_read(
    key: str, given: t.Any, expected: t.Any
) -> None:
    app = Flask(__name__)
    app.config["APIERRORS_" + key] = given
    ApiErrors(app)
    value = getattr(get_state(app).settings, key.lower())
    assert value == expected and type(value) is type(expected)


def test_lazy_text_in_a_list_is_text() -> None:
    app = Flask(__name__)
    ApiErrors(app, expected_content_types=[_Lazy("application/json"), "text/csv"])
    assert [str(v) for v in get_state(app).settings.expected_content_types] == [
        "application/json",
        "text/csv",
    ]


@pytest.mark.parametrize(("key", "given"), [("MAX_VALIDATION_ERRORS", 2.5), ("ENABLED", 2)])
def test_a_number_that_is_not_the_kind_declared_is_still_refused(key: str, given: t.Any) -> None:
    app = Flask(__name__)
    app.config["APIERRORS_" + key] = given
    with pytest.raises(ValueError, match=ONE_LINE.format(key=key)):
        ApiErrors(app)


def test_a_maintenance_file_may_be_a_path(tmp_path: pathlib.Path) -> None:
    state_file = tmp_path / "maintenance.json"
    app = Flask(__name__)
    ApiErrors(app, maintenance_file=state_file)
    maintenance = Maintenance(app)

    @app.get("/orders")
    def orders() -> str:
        return "ok"

    with app.app_context():
        maintenance.enable(message="Migrating")
    assert state_file.exists()
    assert app.test_client().get("/orders").status_code == 503


def test_a_settings_class_without_string_annotations_is_read() -> None:
    # register_settings is public: a class without `from __future__ import
    # annotations` has real types in its fields (a KeyError per ApiErrors).
    cls = dataclasses.make_dataclass(
        "Extra", [("extra_count", int, 1), ("extra_paths", dict, dataclasses.field(default=None))]
    )
    assert configvalues.read_values(cls, {"extra_count": "3", "extra_paths": {"a": 1}}) == {
        "extra_count": 3,
        "extra_paths": {"a": 1},
    }
    with pytest.raises(ValueError, match="^APIERRORS_EXTRA_COUNT=-1 is not valid"):
        configvalues.read_values(cls, {"extra_count": -1})


def test_an_application_limit_given_as_text_limits_instead_of_failing() -> None:
    app = Flask("shop")
    app.config["APIERRORS_CONCURRENCY_APPLICATION_LIMIT"] = "10"
    ApiErrors(app)
    ConcurrencyLimiter(app)

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    assert [app.test_client().get("/health").status_code for _ in range(3)] == [200] * 3


# -- formats --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [42, None, ["error"], ProblemFormat])
def test_a_format_that_is_no_name_fails_at_setup(fmt: t.Any) -> None:
    with pytest.raises(ValueError, match="^APIERRORS_FORMAT: "):
        ApiErrors(Flask(__name__), format=fmt)
    app = Flask(__name__)
    errors = ApiErrors(app)
    with pytest.raises(ValueError, match=r"^override\('v1'\).format: "):
        errors.override(Blueprint("v1", __name__), format=fmt)


def test_an_unknown_format_name_is_a_json_500_with_one_line_per_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Outside testing: the check at the first request escaped the WSGI app,
    # the server's own text 500 and a traceback for every request.
    app = Flask(__name__)
    ApiErrors(app, format="eror")

    @app.get("/health")
    def health() -> str:
        return "ok"

    with caplog.at_level(logging.ERROR, "flask_apierrors"):
        responses = [app.test_client().get("/health") for _ in range(2)]
    for response in responses:
        assert response.status_code == 500 and response.mimetype == "application/json"
        assert response.get_json()["error"] == "internal_server_error"
        assert response.headers["X-Request-ID"] == response.get_json()["correlation_id"]
    lines = [r for r in caplog.records if r.name == "flask_apierrors"]
    assert len(lines) == 2 and not any(r.exc_info for r in lines)
    assert "APIERRORS_FORMAT: Unknown error format 'eror'" in lines[0].getMessage()


def test_register_exception_checks_its_format_and_status() -> None:
    app = Flask(__name__)
    app.testing = True
    errors = ApiErrors(app)
    with pytest.raises(ValueError, match=r"^register_exception\(LookupError\): status 200"):
        errors.register_exception(LookupError, "not_found", status=200)
    errors.register_exception(KeyError, "not_found", format="detial")
    with pytest.raises(ValueError, match=r"^register_exception\(KeyError\).format: "):
        app.test_client().get("/x")
