"""Tests of flask_apierrors.client.transport: the one Retry-After parser,
strict and bounded, and the wait a response asks for."""

from __future__ import annotations

import email.utils
import typing as t

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors import client
from flask_apierrors import retry
from flask_apierrors import upstream
from flask_apierrors.client.transport import MAX_RETRY_AFTER
from flask_apierrors.client.transport import parse_retry_after

NOW = 1_700_000_000.0
DAY = 86_400


def test_one_parser_under_every_name() -> None:
    assert retry.parse_retry_after is upstream.parse_retry_after is client.parse_retry_after
    assert client.parse_retry_after is parse_retry_after and MAX_RETRY_AFTER == DAY


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7),
        (" 120 ", 120),
        ("0", 0),
        ("007", 7),
        ("0" * 5000 + "7", 7),
        ("9" * 5000, DAY),
        ("86401", DAY),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 30),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0),
        ("Wed, 21 Oct 2015 07:28:00", 30),
        ("Fri, 31 Dec 9999 23:59:59 GMT", DAY),
        ("Sat, 01 Jan 0001 00:00:00 GMT", 0),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("1e3", None),
        ("²", None),
        ("٣", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: int | None) -> None:
    now = 1445412450.0  # 2015-10-21T07:27:30Z
    assert parse_retry_after(value, now=now) == expected


def test_the_bound_is_a_parameter() -> None:
    assert parse_retry_after("600", maximum=60) == 60
    assert parse_retry_after("59", maximum=60) == 59
    assert parse_retry_after("100000", maximum=10**9) == 100000


#: Text, digits of any script, and things shaped like HTTP dates.
TEXT: t.Final = st.one_of(
    st.text(),
    st.from_regex(r"\s*[0-9²٣-]{0,6000}\s*", fullmatch=True),
    st.from_regex(
        r"([A-Za-z]{3}, )?[0-9]{1,4} [A-Za-z]{3} [0-9]{1,12} [0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3})?"
        r"( [A-Z]{1,3}| [+-][0-9]{4})?",
        fullmatch=True,
    ),
)


@given(TEXT)
def test_any_text_is_a_bounded_number_or_none(value: str) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or 0 <= seconds <= DAY


@given(st.integers(min_value=0, max_value=10**30))
def test_any_delta_seconds_are_read(value: int) -> None:
    assert parse_retry_after(str(value)) == min(value, DAY)


@given(st.integers(min_value=-(10**10), max_value=10**11))
def test_any_http_date_is_read(offset: int) -> None:
    value = email.utils.formatdate(NOW + offset, usegmt=True)
    assert parse_retry_after(value, now=NOW) == min(max(0, offset), DAY)


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected"),
    [
        (503, {"Retry-After": "7"}, {}, 7.0),
        (503, {"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}, {}, 30.0),
        (503, {"Retry-After": email.utils.formatdate(NOW - 30, usegmt=True)}, {}, 0.0),
        (503, {"Retry-After": "soon"}, {}, None),
        (503, {"Retry-After": "9" * 5000}, {}, float(DAY)),
        (429, {"X-RateLimit-Reset": str(int(NOW + 12))}, {}, 12.0),
        (429, {"X-RateLimit-Reset": str(NOW + 1.5)}, {}, 1.5),
        (429, {"X-RateLimit-Reset": "5"}, {}, 5.0),
        (429, {"X-RateLimit-Reset": str(int(NOW - 5))}, {}, 0.0),
        (429, {"X-RateLimit-Reset": "9" * 16}, {}, None),
        (429, {"X-RateLimit-Reset": "99999999999"}, {}, float(DAY)),
        (503, {"X-RateLimit-Reset": "5"}, {}, None),
        (429, {}, {"error": "x", "details": {"retry_after": 45}}, 45.0),
        (429, {}, {"error": "x", "details": {"retry_after": 10**400}}, float(DAY)),
        (429, {"Retry-After": "3"}, {"error": "x", "details": {"retry_after": 45}}, 3.0),
        (429, {}, {"error": "x", "details": {"retry_after": True}}, None),
        (429, {}, {"error": "x", "details": {"retry_after": -1}}, None),
        (502, {}, {}, None),
    ],
)
def test_retry_after(
    status: int, headers: dict[str, str], body: dict[str, t.Any], expected: float | None
) -> None:
    response = httpx.Response(status, headers=headers, json=body)
    details = body.get("details")
    assert client.retry_after(response, details, now=NOW) == expected
