"""Property tests: hostile values round-trip through every format.

Arbitrary text (lone surrogates, NUL, bidi controls, astral characters),
deep and circular nesting, and values of every type (integers past 64 bits,
NaN, bytes, Decimal, UUID, dates, sets, objects without a JSON form) are
raised as :class:`~flask_apierrors.ApiError` messages and details, sent as
request headers and as paths, in each format (``error``, ``error_code``,
``detail``, ``problem``), with and without ``problem_on_accept``. Whatever
they are, the answer has the raised status (a 5xx only for the exception a
test raises on purpose), its body is strict JSON in valid UTF-8
(:mod:`tests.support.hostile_values`) and shows no memory address; values
JSON can carry read back as sent.

Run with ``HYPOTHESIS_PROFILE=ci`` for the bounded, derandomized profile.
"""

from __future__ import annotations

import typing as t
import urllib.parse

import pytest
from flask import Flask
from flask import request
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors.correlation import VALID_ID

from .support.hostile_values import any_values
from .support.hostile_values import as_json
from .support.hostile_values import as_text
from .support.hostile_values import check_body
from .support.hostile_values import circular
from .support.hostile_values import depth_of
from .support.hostile_values import error_parts
from .support.hostile_values import format_of
from .support.hostile_values import json_values
from .support.hostile_values import keys
from .support.hostile_values import nested
from .support.hostile_values import texts
from .support.hostile_values import typed_values

if t.TYPE_CHECKING:
    from werkzeug.test import TestResponse

FORMATS: t.Final = ("error", "error_code", "detail", "problem")
#: Every format, with and without ``problem_on_accept``.
SETUPS: t.Final = [(f, on) for f in FORMATS for on in (True, False)]
PAYLOAD: t.Final = "roundtrip.payload"
PROBLEM_ACCEPT: t.Final = "application/problem+json"


class Raised(t.NamedTuple):
    code: str
    message: t.Any
    status: int | None
    details: t.Any


_APPS: dict[tuple[str, bool], Flask] = {}


def roundtrip_app(fmt: str, problem_on_accept: bool) -> Flask:
    """An app answering in ``fmt``; built once per setup. TESTING is off so
    that a failure anywhere shows as the status it gives a real client."""
    key = (fmt, problem_on_accept)
    if key not in _APPS:
        app = Flask(f"roundtrip_{fmt}_{problem_on_accept}")
        ApiErrors(app, format=fmt, problem_on_accept=problem_on_accept)

        @app.get("/raise")
        def raise_payload() -> t.NoReturn:
            p: Raised = request.environ[PAYLOAD]
            raise ApiError(p.code, p.message, status=p.status, details=p.details)

        @app.get("/boom")
        def boom() -> t.NoReturn:
            raise RuntimeError(request.environ[PAYLOAD])

        _APPS[key] = app
    return _APPS[key]


def send(setup: tuple[str, bool], path: str, **environ: t.Any) -> TestResponse:
    return roundtrip_app(*setup).test_client().get(path, environ_overrides=environ)


def check_error(
    response: TestResponse, status: int, fmt: str, on_accept: bool, accept: str | None = None
) -> tuple[str, str, t.Any]:
    """The invariants of any error answer; its (code, message, details)."""
    assert response.status_code == status, response.get_data()
    body = check_body(response.get_data())
    cid = response.headers["X-Request-ID"]
    assert VALID_ID.fullmatch(cid)
    problem_wanted = on_accept and accept == PROBLEM_ACCEPT
    shown = "problem" if problem_wanted else fmt
    expected_type = PROBLEM_ACCEPT if shown == "problem" else "application/json"
    assert response.mimetype == expected_type
    assert format_of(body) == shown
    code, message, details = error_parts(body)
    correlation = body["detail"] if shown == "detail" else body
    assert correlation["correlation_id"] == cid
    return code, message, details


setups = st.sampled_from(SETUPS)
accepts = st.sampled_from([None, PROBLEM_ACCEPT, "application/json"])
statuses = st.none() | st.integers(min_value=400, max_value=599)
codes = st.text(min_size=1, max_size=20) | st.sampled_from(["not_found", "BAD_REQUEST", "x"])


def _environ(payload: t.Any, accept: str | None) -> dict[str, t.Any]:
    environ = {PAYLOAD: payload}
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    return environ


@given(
    setup=setups, accept=accepts, code=codes, message=texts, status=statuses, details=json_values
)
def test_json_details_and_any_message_read_back_as_sent(
    setup: tuple[str, bool],
    accept: str | None,
    code: str,
    message: str,
    status: int | None,
    details: t.Any,
) -> None:
    raised = ApiError(code, message or None, status=status, details={"value": details})
    response = send(
        setup,
        "/raise",
        **_environ(Raised(code, message or None, status, {"value": details}), accept),
    )
    _, shown_message, shown_details = check_error(response, raised.status or 500, *setup, accept)
    if message:
        assert shown_message == as_text(message)
    assert shown_details == {"value": as_json(details)}


@given(setup=setups, accept=accepts, details=st.dictionaries(keys, any_values, max_size=4))
def test_details_of_any_type_never_break_the_answer(
    setup: tuple[str, bool], accept: str | None, details: dict[t.Any, t.Any]
) -> None:
    response = send(setup, "/raise", **_environ(Raised("not_found", None, None, details), accept))
    check_error(response, 404, *setup, accept)


@given(setup=setups, value=typed_values, message=st.sampled_from(["", "m"]))
def test_a_value_of_no_json_form_keeps_the_status(
    setup: tuple[str, bool], value: t.Any, message: str
) -> None:
    payload = Raised("conflict", message or None, 409, {"value": value, "also": [value]})
    response = send(setup, "/raise", **_environ(payload, None))
    _, _, details = check_error(response, 409, *setup)
    assert set(details) == {"value", "also"}


@given(
    setup=setups,
    depth=st.integers(min_value=1, max_value=3000),
    kind=st.sampled_from(["list", "dict"]),
)
def test_deep_details_keep_the_status(setup: tuple[str, bool], depth: int, kind: str) -> None:
    value = nested(depth, kind)
    response = send(setup, "/raise", **_environ(Raised("gone", None, 410, {"v": value}), None))
    _, _, details = check_error(response, 410, *setup)
    if depth <= 500:
        assert details == {"v": value}
    else:
        assert depth_of(details["v"]) <= depth


@pytest.mark.parametrize("setup", SETUPS, ids=[f"{f}-{on}" for f, on in SETUPS])
@pytest.mark.parametrize("kind", ["list", "dict"])
def test_circular_details_keep_the_status(setup: tuple[str, bool], kind: str) -> None:
    response = send(
        setup, "/raise", **_environ(Raised("gone", None, 410, {"v": circular(kind)}), None)
    )
    check_error(response, 410, *setup)


@given(setup=setups, message=st.sampled_from(["lazy", "leaky", "opaque"]), text=texts)
def test_message_objects_never_show_an_address(
    setup: tuple[str, bool], message: str, text: str
) -> None:
    from .support.hostile_values import Lazy
    from .support.hostile_values import Leaky
    from .support.hostile_values import Opaque

    obj = {"lazy": Lazy(text or "x"), "leaky": Leaky(), "opaque": Opaque()}[message]
    response = send(setup, "/raise", **_environ(Raised("not_found", obj, None, None), None))
    _, shown, _ = check_error(response, 404, *setup)
    if message == "lazy":
        assert shown == as_text(text or "x")


@given(setup=setups, accept=accepts, text=texts)
def test_an_unhandled_exception_is_the_500_without_its_text(
    setup: tuple[str, bool], accept: str | None, text: str
) -> None:
    response = send(setup, "/boom", **_environ(f"secret {text}", accept))
    code, _, details = check_error(response, 500, *setup, accept)
    assert code.lower() == "internal_server_error"
    assert details["error_id"].startswith("err_")
    assert "secret" not in response.get_data(as_text=True)


# -- headers --------------------------------------------------------------------------

header_values = texts | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))


@given(setup=setups, request_id=header_values, accept=header_values, route=st.booleans())
def test_any_request_id_and_accept_value(
    setup: tuple[str, bool], request_id: str, accept: str, route: bool
) -> None:
    payload = Raised("not_found", "m", None, {"k": "v"})
    environ = {PAYLOAD: payload, "HTTP_X_REQUEST_ID": request_id, "HTTP_ACCEPT": accept}
    response = send(setup, "/raise" if route else "/no/such/route", **environ)
    assert response.status_code == 404
    check_body(response.get_data())
    cid = response.headers["X-Request-ID"]
    assert VALID_ID.fullmatch(cid)
    assert (cid == request_id) is bool(VALID_ID.fullmatch(request_id))
    assert response.mimetype in ("application/json", PROBLEM_ACCEPT)
    fmt, on_accept = setup
    if not on_accept:
        assert response.mimetype == (PROBLEM_ACCEPT if fmt == "problem" else "application/json")


# -- paths ----------------------------------------------------------------------------


@given(setup=setups, raw=st.binary(max_size=200), query=st.binary(max_size=50))
def test_any_raw_path_is_the_json_404(setup: tuple[str, bool], raw: bytes, query: bytes) -> None:
    # What a server hands over: the path's bytes, decoded as latin-1 (PEP 3333).
    path = "/nothing-here/" + raw.decode("latin-1")
    environ = {"PATH_INFO": path, "QUERY_STRING": query.decode("latin-1")}
    response = send(setup, "/", **environ)
    assert response.status_code in (404, 308), response.get_data()
    check_body(response.get_data())
    if response.status_code == 404:
        _, _, details = check_error(response, 404, *setup)
        sent = ("/nothing-here/" + raw.decode("latin-1")).encode("latin-1")
        assert details["path"] == sent.decode("utf-8", "replace")


@given(setup=setups, accept=accepts, text=texts)
def test_any_unicode_path_reads_back(
    setup: tuple[str, bool], accept: str | None, text: str
) -> None:
    quoted = urllib.parse.quote(text.encode("utf-8", "surrogatepass"), safe="")
    environ = {"HTTP_ACCEPT": accept} if accept is not None else {}
    response = send(setup, "/nothing-here/" + quoted, **environ)
    _, _, details = check_error(response, 404, *setup, accept)
    expected = "/nothing-here/" + text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    assert details["path"] == expected
