"""Hostile input: correlation-id headers (X-Request-ID, X-Correlation-ID)
that must never come back or reach a log line, on every kind of route of
the input app."""

from __future__ import annotations

import logging
import random
import re
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors.correlation import VALID_ID
from tests import test_reliability_input
from tests.test_reliability_input import create_input_app

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

#: The input app, once for this module, and a client of it per test.
input_app = test_reliability_input.input_app
client = test_reliability_input.client


#: Characters that must never appear in a log line (the log's own newlines
#: between lines and traceback frames aside).
CONTROL: t.Final = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")

#: Values of X-Request-ID / X-Correlation-ID that must be dropped.
HOSTILE_IDS: t.Final = [
    pytest.param("abc\x00def", id="nul"),
    pytest.param("abc\r\nX-Injected: 1", id="crlf-injection"),
    pytest.param("abc\nFAKE LOG LINE level=ERROR", id="newline-log-forging"),
    pytest.param("\x1b[31mred\x1b[0m", id="ansi-escape"),
    pytest.param("\x1b]0;title\x07", id="osc-escape"),
    pytest.param("abc\x85def", id="nel-x85"),
    pytest.param("abc\x7fdef", id="del"),
    pytest.param("abc\tdef", id="tab"),
    pytest.param("abc def", id="space"),
    pytest.param("a" * 129, id="129-chars"),
    pytest.param("b" * 8192, id="8192-chars"),
    pytest.param("caf\xe9", id="latin-1"),
    pytest.param("\u2028line-separator", id="u2028"),
    pytest.param("../../etc/passwd", id="path"),
    pytest.param("${jndi:ldap://127.0.0.1/a}", id="jndi"),
    pytest.param("<script>alert(1)</script>", id="html"),
    pytest.param("%0d%0aSet-Cookie:x=1", id="percent-encoded-crlf"),
    pytest.param('req"quote', id="quote"),
]

#: Valid ids that must be reused unchanged (the positive control).
GOOD_IDS: t.Final = ["a", "req_0123456789abcdef", "A.b-C_d", "x" * 128]


def _id_headers(name: str, value: str) -> dict[str, str]:
    # Straight into the environ: Werkzeug's Headers refuse newlines, a
    # server hands the app whatever its parser let through.
    return {"HTTP_" + name.upper().replace("-", "_"): value}


def _send(client: FlaskClient, method: str, path: str, environ: dict[str, str]) -> TestResponse:
    return client.open(path, method=method, environ_overrides=environ)


#: (method, path, status) of routes the id tests use: success, 4xx, 5xx.
ID_ROUTES: t.Final = [
    ("GET", "/ok", 200),
    ("GET", "/no/such/route", 404),
    ("DELETE", "/ok", 405),
    ("POST", "/chat", 400),
    ("GET", "/boom", 500),
]


# -- correlation ids -------------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-Request-ID", "X-Correlation-ID"])
@pytest.mark.parametrize("value", HOSTILE_IDS)
@pytest.mark.parametrize(("method", "path", "status"), ID_ROUTES)
def test_hostile_id_never_comes_back(
    client: FlaskClient, header: str, value: str, method: str, path: str, status: int
) -> None:
    response = _send(client, method, path, _id_headers(header, value))
    assert response.status_code == status
    cid = response.headers["X-Request-ID"]
    assert VALID_ID.fullmatch(cid)
    assert cid.startswith("req_")
    assert value not in cid
    assert all(value not in v for _, v in response.headers.items())
    assert value not in response.get_data(as_text=True)


@pytest.mark.parametrize("value", HOSTILE_IDS)
@pytest.mark.parametrize(("method", "path", "status"), ID_ROUTES)
def test_hostile_id_never_reaches_a_log_line(
    caplog: pytest.LogCaptureFixture, value: str, method: str, path: str, status: int
) -> None:
    app = create_input_app()
    caplog.set_level(logging.DEBUG)
    response = _send(app.test_client(), method, path, _id_headers("X-Request-ID", value))
    assert response.status_code == status
    cid = response.headers["X-Request-ID"]
    text = caplog.text
    # Every error is logged (4xx too, log_client_errors is on) with the
    # generated id, so the log is not vacuously clean.
    if status >= 400:
        assert cid in text
    assert value not in text
    assert not CONTROL.search(text), CONTROL.findall(text)


@pytest.mark.parametrize(("method", "path", "status"), ID_ROUTES)
def test_empty_id_gets_a_new_one(client: FlaskClient, method: str, path: str, status: int) -> None:
    response = _send(client, method, path, _id_headers("X-Request-ID", ""))
    assert response.status_code == status
    assert response.headers["X-Request-ID"].startswith("req_")


@pytest.mark.parametrize("value", GOOD_IDS)
@pytest.mark.parametrize(("method", "path", "status"), ID_ROUTES)
def test_valid_id_is_reused(
    client: FlaskClient, value: str, method: str, path: str, status: int
) -> None:
    response = _send(client, method, path, _id_headers("X-Request-ID", value))
    assert response.status_code == status
    assert response.headers["X-Request-ID"] == value


@pytest.mark.parametrize(("method", "path", "status"), ID_ROUTES)
def test_ids_do_not_follow_the_global_random_state(
    client: FlaskClient, method: str, path: str, status: int
) -> None:
    # Apps seed the global random for their own reasons (a reproducible
    # sampler, a test framework): ids must stay unique regardless.
    ids = set()
    for _ in range(3):
        random.seed(1234)
        response = _send(client, method, path, {})
        assert response.status_code == status
        ids.add(response.headers["X-Request-ID"])
    assert len(ids) == 3


_SEEN_IDS: set[str] = set()


@given(st.data())
def test_ids_are_unique_across_examples(data: st.DataObject) -> None:
    # Hypothesis reseeds the global random for every example.
    data.draw(st.integers())
    response = create_input_app().test_client().get("/missing")
    cid = response.headers["X-Request-ID"]
    assert cid not in _SEEN_IDS
    _SEEN_IDS.add(cid)


@given(value=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=300))
def test_any_id_is_reused_only_if_valid(value: str) -> None:
    app = create_input_app()
    response = _send(app.test_client(), "GET", "/missing", _id_headers("X-Request-ID", value))
    cid = response.headers["X-Request-ID"]
    assert response.get_json()["correlation_id"] == cid
    assert VALID_ID.fullmatch(cid)
    assert (cid == value) is bool(VALID_ID.fullmatch(value))
