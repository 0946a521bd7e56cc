"""Hypothesis strategies of hostile values, and the checks every error body
must pass: strict JSON in valid UTF-8, no memory address of an object.

"Strict" is decided here once, for every property suite: the bytes must be
valid UTF-8 (so no raw surrogate and no stray byte reaches a client), and
the JSON text must parse without ``NaN``/``Infinity`` constants and without
duplicate keys. Escaped lone surrogates (``"\\ud800"``) are accepted: the
JSON grammar (RFC 8259, section 7) allows any ``\\uXXXX`` escape, and they
are the only faithful way to send back text that holds one.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import re
import typing as t

from hypothesis import strategies as st

#: ``<... at 0x7f...>``: the default ``repr`` of an object, which must never
#: reach a client.
ADDRESS: t.Final = re.compile(r"<[^<>]*\bat 0x[0-9a-fA-F]+>")

#: Characters that break naive encoders, log lines, terminals or parsers.
SPECIAL_CHARACTERS: t.Final = (
    "\ud800",  # lone high surrogate
    "\udbff",
    "\udc00",  # lone low surrogate
    "\udfff",
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\r",
    "\n",
    "\u2028",
    "\u2029",
    "\u202e",  # right-to-left override
    "\u202d",
    "\u2066",  # isolates
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
    "\u061c",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\U0001f600",
    "\U0010ffff",
    "\u0301",
    '"',
    "\\",
)

characters: st.SearchStrategy[str] = st.one_of(
    st.characters(),
    st.sampled_from(SPECIAL_CHARACTERS),
    # Lone surrogates anywhere in the range, not only the famous four.
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, exclude_categories=()),
)

#: Any Python text: lone surrogates, NUL, bidi controls, astral characters.
texts: st.SearchStrategy[str] = st.text(alphabet=characters, max_size=40) | st.sampled_from(
    ["</script>", "%s%n", "${jndi:ldap://x}", "\ud83d\ude00", "\udc80\udc80", "a\x00b"]
)


def _power(n: int) -> int:
    return int(10**n)


#: Integers well past 64 bits (and still writable in decimal).
integers: st.SearchStrategy[int] = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    # 2**63, 2**64, 10**400, 10**4000 and their negatives, less one.
    st.tuples(
        st.sampled_from([2**63, 2**64]) | st.sampled_from([400, 4000]).map(_power),
        st.sampled_from([1, -1]),
    ).map(lambda pair: pair[0] * pair[1] - 1),
)

#: Floats, NaN and infinities included.
floats: st.SearchStrategy[float] = st.floats(allow_nan=True, allow_infinity=True)

#: Values JSON can carry (NaN and infinities aside, which become ``null``).
json_values: st.SearchStrategy[t.Any] = st.recursive(
    st.none() | st.booleans() | integers | floats | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=16,
)


class Opaque:
    """An object without a JSON form or a ``__str__`` of its own."""


class Lazy:
    """A lazy string: its own ``__str__`` (as flask-babel's ``lazy_gettext``)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class Leaky:
    """A ``__str__`` that shows the object's address anyway."""

    def __str__(self) -> str:
        return object.__repr__(self)


class BrokenStr:
    """A ``__str__`` that raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text")


def _generator() -> t.Iterator[int]:
    yield 1


def _huge() -> int:
    """More digits than ``int -> str`` writes (built late: not even
    hypothesis can print it)."""
    return int(10**5000)


#: Values of no JSON form, made fresh for each example.
opaque_values: st.SearchStrategy[t.Any] = st.one_of(
    st.builds(Opaque),
    st.builds(object),
    st.builds(Leaky),
    st.builds(BrokenStr),
    st.builds(Lazy, texts),
    st.just(len),
    st.just(Opaque),
    st.builds(lambda: lambda: None),
    st.builds(_generator),
    st.just(Ellipsis),
    st.builds(complex, st.floats(allow_nan=False), st.floats(allow_nan=False)),
    st.builds(range, st.integers(0, 5)),
    st.binary(max_size=8).map(lambda b: memoryview(b)),
    st.builds(ValueError, texts),
    st.builds(_huge),
)

#: Values a JSON encoder may know through a ``default`` hook, or not.
typed_values: st.SearchStrategy[t.Any] = st.one_of(
    st.binary(max_size=20),
    st.builds(bytearray, st.binary(max_size=8)),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([decimal.Decimal("sNaN"), decimal.Decimal("-0"), decimal.Decimal("1E+999")]),
    st.uuids(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.sampled_from([datetime.timezone.utc, None])),
    st.times(),
    st.timedeltas(),
    st.sets(st.integers(), max_size=3),
    st.frozensets(texts, max_size=3),
    st.tuples(integers, texts),
    opaque_values,
)

#: Dictionary keys of any type a Python dict allows.
keys: st.SearchStrategy[t.Any] = st.one_of(
    texts,
    integers,
    st.none(),
    st.booleans(),
    floats,
    st.tuples(st.integers()),
    st.binary(max_size=4),
    st.builds(Opaque),
    st.uuids(),
)

#: Anything an app may put in ``details``.
any_values: st.SearchStrategy[t.Any] = st.recursive(
    json_values | typed_values,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(keys, inner, max_size=4)
        | st.tuples(inner, inner)
    ),
    max_leaves=12,
)


def nested(depth: int, kind: str, leaf: t.Any = 1) -> t.Any:
    """``leaf`` inside ``depth`` lists (``kind="list"``) or objects."""
    value = leaf
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def nested_json(depth: int, kind: str, leaf: str = "1") -> str:
    """The JSON text of :func:`nested` (built without recursion)."""
    if kind == "list":
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


def circular(kind: str) -> t.Any:
    """A list or dict that contains itself."""
    if kind == "list":
        items: list[t.Any] = [1]
        items.append(items)
        return items
    mapping: dict[str, t.Any] = {"a": 1}
    mapping["self"] = mapping
    return mapping


# -- checks --------------------------------------------------------------------------


def _no_constants(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not strict JSON")


def _no_duplicates(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate keys in {keys!r}")
    return dict(pairs)


def strict_json(data: bytes) -> t.Any:
    """``data`` parsed as strict JSON in valid UTF-8 (see the module
    docstring); raises ``UnicodeDecodeError`` or ``ValueError`` otherwise."""
    return json.loads(
        data.decode("utf-8"),
        parse_constant=_no_constants,
        object_pairs_hook=_no_duplicates,
    )


def check_body(data: bytes) -> t.Any:
    """The parsed body; fails on text that is not strict JSON or that shows
    a memory address."""
    body = strict_json(data)
    text = data.decode("utf-8")
    assert not ADDRESS.search(text), ADDRESS.search(text)
    return body


def as_text(text: str) -> str:
    """What ``text`` reads back as from JSON: a high surrogate followed by a
    low one is one astral character there (``"\\ud83d\\ude00"`` is 😀)."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def as_json(value: t.Any) -> t.Any:
    """What a JSON-ready ``value`` of :data:`json_values` reads back as:
    non-finite floats are ``null``, text as :func:`as_text`."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return as_text(value)
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {as_text(k): as_json(v) for k, v in value.items()}
    return value


def depth_of(value: t.Any) -> int:
    """How deeply ``value`` nests (iteratively: it may be thousands deep)."""
    deepest, level = 0, [value]
    while level:
        deepest += 1
        nested_items: list[t.Any] = []
        for item in level:
            if isinstance(item, dict):
                nested_items.extend(item.values())
            elif isinstance(item, list):
                nested_items.extend(item)
        level = nested_items
    return deepest - 1


def format_of(body: t.Any) -> str:
    """Which built-in format an error body is in."""
    if isinstance(body.get("detail"), dict):
        return "detail"
    if body.get("error") is True:
        return "error_code"
    if "type" in body and "title" in body:
        return "problem"
    assert isinstance(body.get("error"), str), body
    return "error"


def error_parts(body: t.Any) -> tuple[str, str, t.Any]:
    """(code, message, details) of an error body in any built-in format."""
    fmt = format_of(body)
    if fmt == "detail":
        inner = body["detail"]
        return inner["code"], inner["message"], inner.get("details")
    if fmt == "error_code":
        return body["error_code"], body["message"], body.get("details")
    if fmt == "problem":
        return body["code"], body["detail"], body.get("details")
    return body["error"], body["message"], body.get("details")
