"""JSON bodies written like the app's other JSON, always valid.

:func:`encode` follows the app's JSON provider (``app.json``): Flask's
:class:`~flask.json.provider.DefaultJSONProvider` by its settings (key order,
ASCII escaping, compact unless in debug mode, its ``default`` for Decimal,
UUID, dataclasses and lazy strings); any other provider (orjson, ujson ...)
or one whose class overrides ``dumps``, by its own ``dumps``. It never fails
for what a body holds: NaN and infinities become ``null``, lone surrogates
are written escaped, and values of no JSON form, cycles and absurd depths
are written as text (a body the provider's ``dumps`` cannot write, or writes
as no valid JSON, is written as described for the default provider).
"""

from __future__ import annotations

import json
import math
import numbers
import re
import typing as t
import weakref
from collections import abc
from datetime import datetime

from .timeutil import format_time

if t.TYPE_CHECKING:
    from flask import Flask


def _default_for(app: Flask | None) -> t.Callable[[t.Any], t.Any]:
    provider_default = getattr(getattr(app, "json", None), "default", None)

    def default(value: t.Any) -> t.Any:
        if isinstance(value, datetime):
            return format_time(value)
        if isinstance(value, (set, frozenset, tuple)):
            return list(value)
        if isinstance(value, (bytes, bytearray)):
            return bytes(value).decode("utf-8", "replace")
        if isinstance(value, abc.Mapping):
            return dict(value)
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if provider_default is not None:
            # Decimal, UUID, dataclasses, lazy strings (``__html__``) ...
            return provider_default(value)
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    return default


#: Encoders by provider (its id, checked against the provider itself: an id
#: is reused once an app is gone) and settings.
_encoders: dict[tuple[t.Any, ...], tuple[t.Any, json.JSONEncoder]] = {}


def _encoder(app: Flask | None, ascii_only: bool = False) -> json.JSONEncoder:
    """An encoder with the settings of the app's JSON provider: key order,
    ASCII escaping, and compact output unless the app is in debug mode (as
    ``jsonify`` does)."""
    provider = getattr(app, "json", None)
    compact = getattr(provider, "compact", None)
    pretty = compact is False or (compact is None and bool(getattr(app, "debug", False)))
    key = (
        id(provider),
        pretty,
        bool(getattr(provider, "sort_keys", False)),
        ascii_only or bool(getattr(provider, "ensure_ascii", False)),
    )
    found = _encoders.get(key)
    if found is not None and found[0]() is provider:
        return found[1]
    encoder = json.JSONEncoder(
        default=_default_for(app),
        ensure_ascii=key[3],
        sort_keys=key[2],
        allow_nan=False,
        indent=2 if pretty else None,
        separators=None if pretty else (",", ":"),
    )
    if len(_encoders) > 256:  # pragma: no cover - apps come and go
        _encoders.clear()
    _encoders[key] = (weakref.ref(provider) if provider is not None else _no_provider, encoder)
    return encoder


def _no_provider() -> None:
    """What the cache's provider reference gives without an app."""
    return None


#: Provider classes -> whether their own ``dumps`` writes bodies; decided
#: once per class.
_own_dumps: dict[type, bool] = {}


def _writes_itself(cls: type) -> bool:
    """Whether a provider class writes JSON its own way: not Flask's
    default provider (nor a subclass that keeps its ``dumps``)."""
    from flask.json.provider import DefaultJSONProvider
    from flask.json.provider import JSONProvider

    dumps = getattr(cls, "dumps", None)
    return callable(dumps) and dumps not in (DefaultJSONProvider.dumps, JSONProvider.dumps)


def _provider_dumps(app: Flask | None) -> t.Callable[[t.Any], t.Any] | None:
    """The ``dumps`` of the app's provider if it writes JSON its own way."""
    provider = getattr(app, "json", None)
    if provider is None:
        return None
    cls = type(provider)
    own = _own_dumps.get(cls)
    if own is None:
        own = _own_dumps[cls] = _writes_itself(cls)
        if len(_own_dumps) > 256:  # pragma: no cover - classes come and go
            _own_dumps.clear()
    return t.cast("t.Callable[[t.Any], t.Any]", provider.dumps) if own else None


def _strict(text: str) -> bool:
    """Whether ``text`` has no NaN or infinities (a cheap look first)."""
    if "NaN" not in text and "Infinity" not in text:
        return True
    try:
        json.loads(text, parse_constant=_reject)
    except ValueError:
        return False
    return True


def _reject(constant: str) -> t.NoReturn:
    raise ValueError(f"{constant} is not JSON")


def _finite(value: t.Any, depth: int) -> t.Any:
    """``value`` with its non-finite floats ``None`` (in dicts and lists;
    anything else is the provider's to write)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: _finite(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v, depth + 1) for v in value]
    return value


def _text_by(dumps: t.Callable[[t.Any], t.Any], body: t.Any) -> str | None:
    text = dumps(body)
    if isinstance(text, (bytes, bytearray)):  # orjson.dumps, undecoded
        text = bytes(text).decode("utf-8")
    return text if isinstance(text, str) else None


def _by_provider(dumps: t.Callable[[t.Any], t.Any], body: t.Any) -> bytes | None:
    """UTF-8 JSON of ``body`` by a provider's own ``dumps`` (non-finite
    floats written ``null``); ``None`` if it raises, or writes no text, or
    no valid JSON."""
    try:
        text = _text_by(dumps, body)
        if text is not None and not _strict(text):
            text = _text_by(dumps, _finite(body, 0))
        if text is None or not _strict(text):
            return None
        return text.encode("utf-8")  # raises for lone surrogates
    except Exception:  # noqa: BLE001 - written the default provider's way
        return None


def encode(app: Flask | None, body: t.Any) -> bytes:
    """UTF-8 JSON of a body, as the app's JSON provider would write it.

    Always valid JSON, so an error keeps its status whatever its details
    hold: NaN and infinities become ``null``, lone surrogates are written
    escaped (``\\ud800``), and a body the provider cannot write (a value or
    key of no JSON form, a cycle, nesting deeper than :data:`MAX_DEPTH`) is
    written as :func:`_plain` makes it. A provider that writes JSON its
    own way (:func:`_writes_itself`) writes the body, unless its ``dumps``
    raises or writes no valid JSON (NaN, lone surrogates): then it is
    written as for Flask's default provider.
    """
    own = _provider_dumps(app)
    if own is not None:
        data = _by_provider(own, body)
        if data is not None:
            return data
    try:
        text = _encoder(app).encode(body)
    except (TypeError, ValueError, RecursionError):
        body = _plain(body, _default_for(app), 0, set())
        text = _encoder(app).encode(body)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _encoder(app, ascii_only=True).encode(body).encode("ascii")


def dumps(body: t.Any) -> str:
    """Compact JSON text of a body (no app settings), keys in the order
    given; always valid JSON."""
    return encode(None, body).decode("utf-8")


#: How deeply :func:`_plain` writes a body the provider could not write.
MAX_DEPTH: t.Final = 200
#: What stands for a part of such a body that cannot be written: deeper
#: than :data:`MAX_DEPTH`, a cycle, an integer of too many digits.
OMITTED: t.Final = "...[omitted]"


def _plain(
    value: t.Any, default: t.Callable[[t.Any], t.Any], depth: int, ancestors: set[int]
) -> t.Any:
    """A copy of ``value`` made only of JSON types: non-finite floats are
    ``None``, keys are text, values of no JSON form go through ``default``
    (the provider's), else :func:`_text_of`."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        return value if _writable(value) else OMITTED
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH or id(value) in ancestors:
        return OMITTED
    ancestors.add(id(value))
    try:
        if isinstance(value, abc.Mapping):
            return {
                _key(k, default): _plain(v, default, depth + 1, ancestors) for k, v in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [_plain(v, default, depth + 1, ancestors) for v in value]
        try:
            converted = default(value)
        except Exception:
            return _text_of(value)
        return _plain(converted, default, depth + 1, ancestors)
    finally:
        ancestors.discard(id(value))


def _writable(number: int) -> bool:
    try:
        int.__repr__(number)
    except ValueError:  # more digits than the interpreter writes
        return False
    return True


def _key(key: t.Any, default: t.Callable[[t.Any], t.Any]) -> str:
    """A key as JSON writes it (``1`` -> ``"1"``, ``None`` -> ``"null"``), else
    its text."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        plain = _plain(key, default, 0, set())
        return plain if isinstance(plain, str) else json.dumps(plain)
    return _text_of(key)


def _text_of(value: t.Any) -> str:
    """A value of no JSON form: :func:`safe_text`, else the type's name in
    angle brackets (``<Session>``)."""
    return safe_text(value, f"<{type(value).__name__}>")


# A default ``repr``: never shown to a client.
_ADDRESS: t.Final = re.compile(r"\bat 0x[0-9a-fA-F]+")


def _default_str(raw: object) -> bool:
    # The class writes itself as object does: its repr, with an address.
    return getattr(type(raw), "__str__", None) is object.__str__


def safe_text(raw: t.Any, default: str) -> str:
    """The text of a value an app or a client gave as a message or a key:
    text as is, bytes decoded, numbers in decimal, an object whose class
    has its own ``__str__`` (a lazy translation string) read; ``default``
    for anything else (``None``, exceptions, objects with a default
    ``repr``) and for a text that shows a memory address."""
    if isinstance(raw, str):
        return str.__str__(raw)
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw).decode("utf-8", "replace")
    if isinstance(raw, bool) or raw is None or isinstance(raw, BaseException):
        return default
    if not isinstance(raw, numbers.Number) and _default_str(raw):
        return default
    try:
        text = str(raw)
    except Exception:  # a broken __str__, or an int of too many digits
        return default
    if not isinstance(text, str) or _ADDRESS.search(text):
        return default
    return str.__str__(text)
