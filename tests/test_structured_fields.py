"""The RFC 8941 serialiser, checked against the grammar: a parser written
from RFC 8941 section 4.2 reads back what it writes, and the ABNF of a List
matches it."""

from __future__ import annotations

import base64
import re
import string
import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors.structured_fields import MAX_INTEGER
from flask_apierrors.structured_fields import Token
from flask_apierrors.structured_fields import serialize_item
from flask_apierrors.structured_fields import serialize_key
from flask_apierrors.structured_fields import serialize_list
from flask_apierrors.structured_fields import serialize_params

# -- a parser from RFC 8941 section 4.2 (Lists of Items; no Inner Lists) --------------------

_TCHAR: t.Final = set("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits + ":/")
_KEY_CHARS: t.Final = set(string.ascii_lowercase + string.digits + "_-.*")


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def take(self) -> str:
        char = self.peek()
        assert char, "unexpected end"
        self.i += 1
        return char

    def list(self) -> list[tuple[t.Any, dict[str, t.Any]]]:
        members = []
        while self.i < len(self.text):
            members.append(self.item())
            while self.peek() in (" ", "\t") and self.peek():
                self.i += 1
            if self.i >= len(self.text):
                return members
            assert self.take() == ",", "members are separated by commas"
            while self.peek() in (" ", "\t") and self.peek():
                self.i += 1
            assert self.i < len(self.text), "a trailing comma"
        return members

    def item(self) -> tuple[t.Any, dict[str, t.Any]]:
        return self.bare_item(), self.parameters()

    def parameters(self) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {}
        while self.peek() == ";":
            self.i += 1
            while self.peek() == " ":
                self.i += 1
            key = self.key()
            value: t.Any = True
            if self.peek() == "=":
                self.i += 1
                value = self.bare_item()
            params[key] = value
        return params

    def key(self) -> str:
        assert self.peek() in set(string.ascii_lowercase + "*"), "a key starts lcalpha or *"
        start = self.i
        while self.peek() and self.peek() in _KEY_CHARS:
            self.i += 1
        return self.text[start : self.i]

    def bare_item(self) -> t.Any:
        char = self.peek()
        if char == "-" or char.isdigit():
            return self.integer()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            self.i += 1
            flag = self.take()
            assert flag in "01"
            return flag == "1"
        if char and (char.isalpha() or char == "*"):
            return self.token()
        raise AssertionError(f"no bare item at {self.i}: {self.text!r}")

    def integer(self) -> int:
        match = re.compile(r"-?\d{1,15}").match(self.text, self.i)
        assert match is not None
        self.i = match.end()
        assert self.peek() != ".", "decimals are not written"
        return int(match.group(0))

    def string(self) -> str:
        self.i += 1
        out = []
        while True:
            char = self.take()
            if char == "\\":
                escaped = self.take()
                assert escaped in '"\\', 'only \\ and " are escaped'
                out.append(escaped)
            elif char == '"':
                return "".join(out)
            else:
                assert 0x20 <= ord(char) <= 0x7E, "printable ASCII only"
                out.append(char)

    def token(self) -> Token:
        start = self.i
        self.i += 1
        while self.peek() and self.peek() in _TCHAR:
            self.i += 1
        return Token(self.text[start : self.i])

    def byte_sequence(self) -> bytes:
        self.i += 1
        end = self.text.index(":", self.i)
        data = self.text[self.i : end]
        assert re.fullmatch(r"[A-Za-z0-9+/=]*", data)
        self.i = end + 1
        return base64.b64decode(data, validate=True)


def parse_list(text: str) -> list[tuple[t.Any, dict[str, t.Any]]]:
    parser = Parser(text)
    rv = parser.list()
    assert parser.i == len(text)
    return rv


# RFC 8941's ABNF of an sf-list of items with parameters (no inner lists).
_SF_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"'
_SF_TOKEN = r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*"
_BARE = rf"(?:-?\d{{1,15}}|{_SF_STRING}|{_SF_TOKEN}|:[A-Za-z0-9+/=]*:|\?[01])"
_PARAMS = rf"(?:;[a-z*][a-z0-9_\-.*]*(?:={_BARE})?)*"
_ITEM = _BARE + _PARAMS
SF_LIST: t.Final = re.compile(rf"{_ITEM}(?:[ \t]*,[ \t]*{_ITEM})*")

# -- the serialiser -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "params", "text"),
    [
        ("default", {"q": 100, "w": 60}, '"default";q=100;w=60'),
        ("name", {"r": 50, "t": 30}, '"name";r=50;t=30'),
        ('a "quoted" \\ name', {}, '"a \\"quoted\\" \\\\ name"'),
        (Token("concurrent-requests"), {}, "concurrent-requests"),
        ("c", {"qu": "concurrent-requests"}, '"c";qu="concurrent-requests"'),
        ("p", {"pk": b"\x00\xffab"}, '"p";pk=:AP9hYg==:'),
        ("b", {"flag": True, "off": False}, '"b";flag;off=?0'),
        ("n", {"skip": None, "neg": -7}, '"n";neg=-7'),
        (MAX_INTEGER, {}, "999999999999999"),
        (Token("*x:/y"), {}, "*x:/y"),
    ],
)
def test_items(value: t.Any, params: dict[str, t.Any], text: str) -> None:
    assert serialize_item(value, params) == text
    assert SF_LIST.fullmatch(text)
    expected = {k: v for k, v in params.items() if v is not None}
    assert parse_list(text) == [(value, expected)]


def test_lists_join_members_with_a_comma_and_a_space() -> None:
    text = serialize_list([("burst", {"q": 100, "w": 60}), ("daily", {"q": 1000, "w": 86400})])
    assert text == '"burst";q=100;w=60, "daily";q=1000;w=86400'
    assert parse_list(text) == [("burst", {"q": 100, "w": 60}), ("daily", {"q": 1000, "w": 86400})]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (MAX_INTEGER + 1, ValueError),
        (-MAX_INTEGER - 1, ValueError),
        ("caf\u00e9", ValueError),
        ("tab\there", ValueError),
        ("new\nline", ValueError),
        (Token("1abc"), ValueError),
        (Token("a b"), ValueError),
        (Token(""), ValueError),
        (1.5, TypeError),
        (None, TypeError),
    ],
)
def test_values_out_of_the_grammar_are_refused(value: t.Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        serialize_item(value)


@pytest.mark.parametrize("key", ["Q", "1q", "q w", "", "q=", "é"])
def test_keys_out_of_the_grammar_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        serialize_key(key)
    with pytest.raises(ValueError):
        serialize_params({key: 1})


_printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
_tokens = st.from_regex(re.compile(_SF_TOKEN), fullmatch=True).map(Token)
_bare = st.one_of(
    st.integers(-MAX_INTEGER, MAX_INTEGER),
    _printable,
    _tokens,
    st.binary(max_size=24),
    st.booleans(),
)
_keys = st.from_regex(re.compile(r"[a-z*][a-z0-9_\-.*]{0,8}"), fullmatch=True)


@given(st.lists(st.tuples(_bare, st.dictionaries(_keys, _bare, max_size=4)), min_size=1))
def test_whatever_it_writes_parses_back(members: list[tuple[t.Any, dict[str, t.Any]]]) -> None:
    text = serialize_list(members)
    assert SF_LIST.fullmatch(text), text
    parsed = parse_list(text)
    assert [(type(v), v) for v, _ in parsed] == [(type(v), v) for v, _ in members]
    assert [p for _, p in parsed] == [p for _, p in members]
