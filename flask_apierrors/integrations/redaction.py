"""What of a submitted value may be echoed in ``invalid_value``.

One implementation for every validation integration (marshmallow, webargs,
pydantic): which names are secret (:func:`is_secret_name`), and the echo of
a value (:func:`echo`): JSON-ready, secrets replaced, cut to
``max_value_length``, built with bounded work and depth whatever was sent.
The rules are documented in the validation chapter.
"""

from __future__ import annotations

import functools
import json
import math
import typing as t
from collections import abc

from werkzeug.datastructures import FileStorage

from ..fieldpath import Segment as Segment
from ..jsonbody import safe_text as safe_text
from ..problem import MISSING

if t.TYPE_CHECKING:
    from ..config import Settings

#: Appended to an echoed value or message that was cut.
TRUNCATION_MARKER: t.Final = "...[truncated]"
#: Deepest level of an object echoed; what lies deeper is cut like a long
#: value (the response encoder and the client's decoder recurse too).
MAX_ECHO_DEPTH: t.Final = 32
#: Characters of a name read to decide whether it is secret.
MAX_NAME_LENGTH: t.Final = 200

#: Words after a secret word that make the name a measure of the secret,
#: not the secret: ``token_count``, ``session_length``, ``password_min_length``.
QUALIFIERS: t.Final = frozenset(
    {
        "count",
        "counts",
        "expires",
        "expiry",
        "len",
        "length",
        "limit",
        "limits",
        "max",
        "min",
        "size",
        "timeout",
        "ttl",
        "type",
        "usage",
    }
)


class Child(t.NamedTuple):
    """What a schema says about the value below one key."""

    #: The schema node below, or ``None`` where the schema says nothing.
    node: Node | None = None
    #: The field's other names (attribute name, aliases): a secret one
    #: redacts the value as the name on the wire does.
    names: tuple[str, ...] = ()
    #: Never echoed, whatever its names (marshmallow's ``load_only``,
    #: pydantic's secret types).
    hidden: bool = False
    #: The library's own field object, for the integration's use.
    field: t.Any = None


#: Below a key the schema does not know.
UNKNOWN: t.Final = Child()


class Node(t.Protocol):
    """One level of a schema: what it says about each key below it."""

    def child(self, key: Segment) -> Child: ...


def words(name: str) -> list[str]:
    """The lower-case words of a snake, kebab, camel or Pascal case name:
    ``X-Api-Key``, ``xApiKey``, ``x_api_key`` -> ``["x", "api", "key"]``;
    letters and digits are separate words (``cvv2``)."""
    out: list[str] = []
    start = -1
    prev = ""
    name = name[:MAX_NAME_LENGTH]
    for i, ch in enumerate(name):
        if ch.isdigit():
            kind = "d"
        elif ch.isupper():
            kind = "u"
        elif ch.isalpha():
            kind = "l"
        else:
            if start >= 0:
                out.append(name[start:i].lower())
            start, prev = -1, ""
            continue
        # A new word: letters after digits (or the reverse), an upper case
        # letter after a lower case one, and the last capital of a run
        # followed by lower case ones ("APIKey" -> "API", "Key").
        boundary = start >= 0 and (
            (kind == "d") != (prev == "d")
            or (kind == "u" and prev == "l")
            or (
                kind == "u"
                and prev == "u"
                and i + 1 < len(name)
                and name[i + 1].isalpha()
                and not name[i + 1].isupper()
            )
        )
        if boundary:
            out.append(name[start:i].lower())
            start = i
        elif start < 0:
            start = i
        prev = kind
    if start >= 0:
        out.append(name[start:].lower())
    return out


@functools.lru_cache(maxsize=16)
def fragments(redact_fields: tuple[str, ...] | str) -> tuple[str, ...]:
    """The ``redact_fields`` setting, each name's words joined (``api_key``,
    ``apiKey`` and ``API-KEY`` -> ``apikey``)."""
    if isinstance(redact_fields, str):
        redact_fields = (redact_fields,)
    # An empty fragment would match every name.
    return tuple(dict.fromkeys(f for f in ("".join(words(n)) for n in redact_fields) if f))


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str, secret: tuple[str, ...]) -> bool:
    """Whether ``name`` names a secret: some run of its whole words, joined,
    is one of the ``secret`` fragments (see :func:`fragments`), and the word
    after the run is not a :data:`QUALIFIERS` word.

    ``refreshToken``, ``X-Api-Key`` and ``card_number`` are secret with the
    default list; ``max_tokens``, ``author`` and ``token_count`` are not.
    """
    parts = words(name)
    for i in range(len(parts)):
        joined = ""
        for j in range(i, len(parts)):
            joined += parts[j]
            if joined in secret and (j + 1 == len(parts) or parts[j + 1] not in QUALIFIERS):
                return True
            if len(joined) >= _LONGEST:
                break
    return False


# No fragment of a sane list is longer: runs stop growing there.
_LONGEST: t.Final = 64


class Rules:
    """The redaction and truncation settings, prepared once per error."""

    __slots__ = ("fragments", "max_length", "redacted")

    def __init__(self, settings: Settings) -> None:
        self.fragments = fragments(settings.redact_fields)
        self.max_length = settings.max_value_length
        self.redacted = settings.redacted_value

    def conceals(self, key: Segment, child: Child) -> bool:
        """Whether the value below ``key`` is never echoed: hidden by the
        schema, or named like a secret (:func:`is_secret_name`) on the wire
        or in the schema."""
        if child.hidden or (isinstance(key, str) and is_secret_name(key, self.fragments)):
            return True
        return any(is_secret_name(name, self.fragments) for name in child.names)


def cut(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters plus the marker if longer."""
    return text if len(text) <= limit else text[:limit] + TRUNCATION_MARKER


class _Budget:
    __slots__ = ("deep", "left", "overflow")

    def __init__(self, n: int) -> None:
        self.left, self.overflow, self.deep = n, False, False


# Stands for what lies deeper than MAX_ECHO_DEPTH; the echo ends before it.
_DEEP: t.Final = "\x00deeper\x00"


def _scrub(value: t.Any, node: Node | None, rules: Rules, budget: _Budget, depth: int) -> t.Any:
    """A JSON-ready copy of ``value`` with secrets replaced, built with a
    bounded amount of work (and recursion) whatever the size of ``value``."""
    budget.left -= 1
    if isinstance(value, str):
        return value[: rules.max_length + 1]
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, FileStorage):
        return value.filename
    if isinstance(value, (abc.Mapping, list, tuple)) and depth >= MAX_ECHO_DEPTH:
        budget.overflow = budget.deep = True
        return _DEEP
    if isinstance(value, abc.Mapping):
        out: dict[str, t.Any] = {}
        for key, item in value.items():
            if budget.left <= 0:
                budget.overflow = True
                break
            name = key if isinstance(key, str) else safe_text(key, "?")
            child = node.child(name) if node is not None else UNKNOWN
            if rules.conceals(name, child):
                budget.left -= 1
                out[name] = rules.redacted
            else:
                out[name] = _scrub(item, child.node, rules, budget, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        items: list[t.Any] = []
        for index, item in enumerate(value):
            if budget.left <= 0:
                budget.overflow = True
                break
            child = node.child(index) if node is not None else UNKNOWN
            if child.hidden:
                budget.left -= 1
                items.append(rules.redacted)
            else:
                items.append(_scrub(item, child.node, rules, budget, depth + 1))
        return items
    # Anything else (bytes, objects) never came from JSON: not echoed.
    return None


def echo(value: t.Any, node: Node | None, rules: Rules) -> t.Any:
    """``value`` as echoed in ``invalid_value``: JSON-ready, secrets
    replaced (keys named like secrets, and what ``node`` hides), cut to
    ``max_value_length`` characters plus the marker; :data:`MISSING` when
    nothing may be echoed."""
    limit = rules.max_length
    if limit <= 0:
        return MISSING
    budget = _Budget(limit + 1)
    scrubbed = _scrub(value, node, rules, budget, 0)
    if isinstance(scrubbed, str):
        return cut(scrubbed, limit)
    text = json.dumps(scrubbed, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if budget.deep:
        # The text ends where the value got too deep.
        text = text[: text.index(json.dumps(_DEEP))]
    if budget.overflow or len(text) > limit:
        return text[:limit] + TRUNCATION_MARKER
    return scrubbed


def echo_or_missing(value: t.Any, node: Node | None, rules: Rules) -> t.Any:
    """:func:`echo`, or :data:`MISSING` when the value can't be echoed at
    all (an object that fails when read): an odd value costs its echo,
    never the answer."""
    try:
        return echo(value, node, rules)
    except Exception:
        return MISSING
