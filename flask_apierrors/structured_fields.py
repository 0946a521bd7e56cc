"""A small serialiser of RFC 8941 Structured Field Values for HTTP: Lists of
Items with Parameters, whose bare items are Integers, Strings, Tokens, Byte
Sequences or Booleans (what the ``RateLimit-Policy`` and ``RateLimit``
fields of draft-ietf-httpapi-ratelimit-headers need; no Decimals, Inner
Lists or Dictionaries).

Serialising follows RFC 8941 section 4.1: a value the grammar cannot carry
(a String with a control or non-ASCII character, an Integer of more than 15
digits, a Token or Key of a character it does not allow) raises
``ValueError`` rather than producing a field a parser rejects. Pure
functions, no Flask.

::

    >>> serialize_list([("burst", {"q": 100, "w": 60}), ("daily", {"q": 1000})])
    '"burst";q=100;w=60, "daily";q=1000'

.. versionadded:: 0.2
"""

from __future__ import annotations

import base64
import re
import typing as t

__all__ = [
    "BareItem",
    "Token",
    "serialize_item",
    "serialize_key",
    "serialize_list",
    "serialize_params",
]

#: Largest Integer magnitude (15 decimal digits, RFC 8941 section 3.3.1).
MAX_INTEGER: t.Final = 999_999_999_999_999

_KEY: t.Final = re.compile(r"[a-z*][a-z0-9_\-.*]*")
# tchar (RFC 9110) plus ":" and "/", after a first ALPHA or "*".
_TOKEN: t.Final = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
# Printable ASCII: what a String may hold (RFC 8941 section 3.3.3).
_STRING: t.Final = re.compile(r"[\x20-\x7e]*")


class Token(str):
    """A Token (``concurrent-requests`` written bare), not a String."""

    __slots__ = ()


#: What a bare item may be.
BareItem: t.TypeAlias = bool | int | str | bytes


def serialize_bare_item(value: BareItem) -> str:
    """One bare item: ``?1``, ``42``, ``"text"`` (``\\`` and ``"`` escaped),
    a token, ``:base64:``.

    :raises ValueError: the value is out of the grammar's range.
    :raises TypeError: no bare item has the value's type.
    """
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise ValueError(f"Integer {value} has more than 15 digits.")
        return str(value)
    if isinstance(value, Token):
        if not _TOKEN.fullmatch(value):
            raise ValueError(f"{str(value)!r} is not a Token.")
        return str(value)
    if isinstance(value, str):
        if not _STRING.fullmatch(value):
            raise ValueError(f"String {value!r} holds a character outside printable ASCII.")
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    raise TypeError(f"No Structured Field bare item is a {type(value).__name__}.")


def serialize_key(key: str) -> str:
    """A parameter key: lower-case letters, digits, ``_ - . *``.

    :raises ValueError: ``key`` is not a Key.
    """
    if not _KEY.fullmatch(key):
        raise ValueError(f"{key!r} is not a Structured Field key.")
    return key


def serialize_params(params: t.Mapping[str, BareItem | None]) -> str:
    """``;key=value`` for each parameter, in order; a ``True`` value is
    written as the bare key (``;key``), a ``None`` value is left out."""
    parts = []
    for key, value in params.items():
        if value is None:
            continue
        name = serialize_key(key)
        parts.append(f";{name}" if value is True else f";{name}={serialize_bare_item(value)}")
    return "".join(parts)


def serialize_item(value: BareItem, params: t.Mapping[str, BareItem | None] | None = None) -> str:
    """An Item: its bare item, then its parameters."""
    return serialize_bare_item(value) + serialize_params(params or {})


def serialize_list(
    members: t.Iterable[tuple[BareItem, t.Mapping[str, BareItem | None]]],
) -> str:
    """A List of Items with Parameters, members joined by ``", "``.

    :raises ValueError: a member cannot be serialised (RFC 8941 fails the
        whole field then, rather than send part of it).
    """
    return ", ".join(serialize_item(value, params) for value, params in members)
