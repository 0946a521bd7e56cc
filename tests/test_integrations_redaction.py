"""What of a submitted value is echoed: secret names (the word rule, both
ways), the echo itself (JSON-ready, cut, bounded in work and depth), and the
text of messages and keys."""

from __future__ import annotations

import json
import math
import time
import typing as t
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage

from flask_apierrors.config import DEFAULT_REDACT_FIELDS
from flask_apierrors.config import Settings
from flask_apierrors.integrations.redaction import MAX_ECHO_DEPTH
from flask_apierrors.integrations.redaction import TRUNCATION_MARKER
from flask_apierrors.integrations.redaction import Child
from flask_apierrors.integrations.redaction import Rules
from flask_apierrors.integrations.redaction import Segment
from flask_apierrors.integrations.redaction import echo
from flask_apierrors.integrations.redaction import echo_or_missing
from flask_apierrors.integrations.redaction import fragments
from flask_apierrors.integrations.redaction import is_secret_name
from flask_apierrors.integrations.redaction import safe_text
from flask_apierrors.integrations.redaction import words
from flask_apierrors.problem import MISSING

RULES = Rules(Settings())
DEFAULT = fragments(DEFAULT_REDACT_FIELDS)

# -- names ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("X-Api-Key", ["x", "api", "key"]),
        ("xApiKey", ["x", "api", "key"]),
        ("APIKey", ["api", "key"]),
        ("x_api_key", ["x", "api", "key"]),
        ("PASSWD", ["passwd"]),
        ("cvv2", ["cvv", "2"]),
        ("oauth2Token", ["oauth", "2", "token"]),
        ("first name", ["first", "name"]),
        ("größeToken", ["größe", "token"]),
        ("__private__", ["private"]),
        ("", []),
    ],
)
def test_words(name: str, expected: list[str]) -> None:
    assert words(name) == expected


SECRET_NAMES = [
    "password",
    "new_password",
    "newPassword",
    "PASSWD",
    "pwd",
    "passphrase",
    "passcode",
    "api_key",
    "apiKey",
    "APIKEY",
    "X-Api-Key",
    "Authorization",
    "auth",
    "auth_code",
    "access_token",
    "accessToken",
    "refreshToken",
    "id_token",
    "oauth2Token",
    "X-CSRF-Token",
    "client_secret",
    "clientSecret",
    "secrets",
    "private_key",
    "privateKey",
    "ssh_private_key",
    "signing_key",
    "jwt",
    "bearer",
    "credentials",
    "otp",
    "otp_code",
    "totp",
    "pin",
    "pin_code",
    "PIN",
    "pin_number",
    "card_number",
    "cardNumber",
    "CARD-NUMBER",
    "cvv",
    "cvv2",
    "cvc",
    "iban",
    "ssn",
    "socialSecurityNumber",
    "cookie",
    "Set-Cookie",
    "cookies",
    "session",
    "session_id",
    "sessionid",
    "SESSION_TOKEN",
    "password_hash",
    "password_confirmation",
]

PLAIN_NAMES = [
    # A fragment inside another word is not a match.
    "author",
    "authority",
    "oauth",
    "spin",
    "pinned",
    "secretary",
    "tokenizer",
    "keyword",
    "passenger",
    "passwordless",
    # Token counts: plural, or followed by a measure word.
    "max_tokens",
    "maxTokens",
    "prompt_tokens",
    "completion_tokens",
    "token_count",
    "tokenCount",
    "token_limit",
    "token_type",
    "session_length",
    "session_timeout",
    "sessionTTL",
    "password_min_length",
    "auth_type",
    # Plain names.
    "model",
    "content",
    "username",
    "email",
    "messages",
    "key",
    "card",
    "number",
    "",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name, DEFAULT)


@pytest.mark.parametrize("name", PLAIN_NAMES)
def test_plain_names(name: str) -> None:
    assert not is_secret_name(name, DEFAULT)


@pytest.mark.parametrize("name", DEFAULT_REDACT_FIELDS)
def test_the_default_list_is_documented(name: str) -> None:
    docs = Path(__file__).parent.parent / "docs" / "validation.rst"
    assert f"``{name}``" in docs.read_text(encoding="utf-8")


def test_fragments_are_written_in_any_case() -> None:
    assert fragments(("api_key", "API-KEY", "apiKey", "", "-")) == ("apikey",)
    # A string, not a tuple, still means one fragment.
    assert fragments(t.cast("tuple[str, ...]", "pin")) == ("pin",)
    custom = fragments(("pin",))
    assert is_secret_name("pin_code", custom) and not is_secret_name("password", custom)


def test_conceals_by_any_name_or_schema() -> None:
    assert RULES.conceals("key", Child(names=("api_key",)))
    assert RULES.conceals("value", Child(hidden=True))
    assert RULES.conceals("password", Child())
    assert not RULES.conceals("key", Child(names=("key", "lookup")))
    assert not RULES.conceals(3, Child())


# -- echo --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x" * 200, "x" * 200),
        ("x" * 201, "x" * 200 + TRUNCATION_MARKER),
        (list(range(10)), list(range(10))),
        ({"k": "v" * 300}, '{"k":"' + "v" * 194 + TRUNCATION_MARKER),
        (
            list(range(1000)),
            json.dumps(list(range(1000)), separators=(",", ":"))[:200] + TRUNCATION_MARKER,
        ),
        (1.5, 1.5),
        (float("-inf"), "-Infinity"),
        (float("nan"), "NaN"),
        ((1, 2), [1, 2]),
        (b"raw", None),
        ({1, 2}, None),
        ({"token": "t", "n": 1, "deep": [{"cardNumber": "4111"}]}, None),
        (FileStorage(filename="image.bmp"), "image.bmp"),
        (FileStorage(), None),
        ("\ud800", "\ud800"),
    ],
)
def test_echo(value: t.Any, expected: t.Any) -> None:
    if isinstance(value, dict) and expected is None:
        expected = {"token": "[REDACTED]", "n": 1, "deep": [{"cardNumber": "[REDACTED]"}]}
    assert echo(value, None, RULES) == expected


class Hiding:
    """A schema node that hides ``hidden`` and knows ``alias`` as ``api_key``."""

    def child(self, key: Segment) -> Child:
        if key == "alias":
            return Child(names=("api_key",))
        return Child(self, hidden=key in ("hidden", 1))


def test_echo_follows_the_schema_node() -> None:
    value = {"alias": "k", "hidden": "h", "plain": [0, "h", 2], "x": {"hidden": 1}}
    assert echo(value, Hiding(), RULES) == {
        "alias": "[REDACTED]",
        "hidden": "[REDACTED]",
        "plain": [0, "[REDACTED]", 2],
        "x": {"hidden": "[REDACTED]"},
    }


def test_echo_of_huge_values_is_bounded_in_time_and_size() -> None:
    huge: list[t.Any] = [[{"a": list(range(100))}] * 100] * 1000
    started = time.perf_counter()
    echoed = echo(huge, None, RULES)
    assert time.perf_counter() - started < 0.1
    assert isinstance(echoed, str) and len(echoed) == 200 + len(TRUNCATION_MARKER)


def _nested(depth: int, leaf: t.Any = 0) -> t.Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


@pytest.mark.parametrize("depth", [MAX_ECHO_DEPTH + 1, 5_000, 100_000])
def test_deep_values_are_cut_where_they_get_too_deep(depth: int) -> None:
    rules = Rules(Settings(max_value_length=100_000))
    echoed = echo(_nested(depth), None, rules)
    assert isinstance(echoed, str) and echoed.endswith(TRUNCATION_MARKER)
    text = echoed.removesuffix(TRUNCATION_MARKER)
    # The text stops before the first level too deep: no placeholder shows.
    assert text.count("[") + text.count("{") == MAX_ECHO_DEPTH
    assert "deeper" not in text


def test_values_as_deep_as_allowed_are_echoed_whole() -> None:
    value = _nested(MAX_ECHO_DEPTH - 1)
    assert echo(value, None, Rules(Settings(max_value_length=10_000))) == value


class Exploding(t.Mapping[str, t.Any]):
    """A mapping that can be indexed but not listed."""

    def __getitem__(self, key: str) -> t.Any:
        return self

    def __iter__(self) -> t.Iterator[str]:
        raise RuntimeError("secret internals")

    def __len__(self) -> int:
        return 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(Exploding(), MISSING, id="unlistable"),
        # Past Python's limit of digits in int-to-text conversion.
        pytest.param(10**5000, MISSING, id="5001-digits"),
        pytest.param(10**4000, str(10**4000)[:200] + TRUNCATION_MARKER, id="4001-digits"),
    ],
)
def test_values_that_cannot_be_echoed_are_missing(value: t.Any, expected: t.Any) -> None:
    assert echo_or_missing(value, None, RULES) == expected


@pytest.mark.parametrize(("limit", "expected"), [(0, MISSING), (-1, MISSING), (5, "abcde...")])
def test_max_value_length(limit: int, expected: t.Any) -> None:
    expected = expected if expected is MISSING else "abcde" + TRUNCATION_MARKER
    assert echo("abcdefgh", None, Rules(Settings(max_value_length=limit))) == expected


# -- text of messages and keys ---------------------------------------------


class LazyText:
    def __str__(self) -> str:
        return "Translated message"


class AddressText:
    def __str__(self) -> str:
        return f"<AddressText at {hex(id(self))}>"


class BrokenText:
    def __str__(self) -> str:
        raise RuntimeError("db password hunter2")


class Tagged(str):
    def __str__(self) -> str:
        return "not me"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("text", "text"),
        (Tagged("kept"), "kept"),
        ("\ud800 lone", "\ud800 lone"),
        (b"bytes", "bytes"),
        (b"\xff", "\ufffd"),
        (42, "42"),
        (1.5, "1.5"),
        pytest.param(10**5000, "?", id="5001-digits"),
        (LazyText(), "Translated message"),
        (True, "?"),
        (None, "?"),
        (RuntimeError("db password hunter2"), "?"),
        (object(), "?"),
        (AddressText(), "?"),
        (BrokenText(), "?"),
        (object, "?"),
        ({"a": 1}, "?"),
    ],
)
def test_safe_text(raw: t.Any, expected: str) -> None:
    assert safe_text(raw, "?") == expected


# -- properties -------------------------------------------------------------

SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
TEXT = st.text(st.one_of(st.characters(), SURROGATES), max_size=12)
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=40,
)


@given(value=VALUES, limit=st.integers(1, 300))
def test_any_value_echoes_as_bounded_json(value: t.Any, limit: int) -> None:
    echoed = echo(value, None, Rules(Settings(max_value_length=limit)))
    # Encodable (lone surrogates escaped), no NaN, within the limit.
    json.dumps(echoed, allow_nan=False)
    if isinstance(echoed, str):
        assert len(echoed) <= max(limit + len(TRUNCATION_MARKER), len("[REDACTED]"))
    else:
        assert len(json.dumps(echoed, ensure_ascii=False, separators=(",", ":"))) <= limit
    if isinstance(echoed, float):
        assert math.isfinite(echoed)


@given(name=TEXT)
def test_any_name_is_judged(name: str) -> None:
    assert is_secret_name(name, DEFAULT) in (True, False)
    assert safe_text(name, "?") == name
