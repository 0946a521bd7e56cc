"""marshmallow ``ValidationError`` -> a ``validation_error`` :class:`Problem`.

marshmallow's nested ``messages`` are flattened into ordered
:class:`~flask_apierrors.FieldError` entries (``messages[0].content``), with
the submitted values echoed unless secret (by name or ``load_only``), cut
when long, and at most ``max_validation_errors`` of them. The rules are
documented in the validation chapter. Imported only when marshmallow is.
"""

from __future__ import annotations

import functools
import json
import math
import re
import typing as t
from collections import abc

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields as ma_fields
from marshmallow import missing as ma_missing
from werkzeug.datastructures import FileStorage

from ..problem import MISSING
from ..problem import FieldError

if t.TYPE_CHECKING:
    from ..config import Settings
    from ..problem import Problem
    from .base import Context

#: Key of whole-object errors in marshmallow's messages.
SCHEMA_KEY: t.Final = "_schema"
#: Appended to an echoed value or message that was cut.
TRUNCATION_MARKER: t.Final = "...[truncated]"
#: What a missing required field reads (marshmallow's default replaced).
REQUIRED_MESSAGE: t.Final = "Field required"
#: Longest message, path segment and path echoed (characters).
MAX_MESSAGE_LENGTH: t.Final = 1000
MAX_SEGMENT_LENGTH: t.Final = 200
MAX_PATH_LENGTH: t.Final = 1000
#: Said instead of a message that is not text (never an exception's text).
GENERIC_MESSAGE: t.Final = "Invalid value."

_DEFAULT_REQUIRED: t.Final = ma_fields.Field.default_error_messages["required"]
# Names written bare in a path; anything else is quoted.
_PLAIN_NAME: t.Final = re.compile(r"[^\s.\[\]\"'\\\x00-\x1f\x7f]+")

Segment = str | int


class RequestValidationError(ValidationError):
    """A ``ValidationError`` that also knows the schema and request location
    it came from, so ``load_only`` fields can be redacted and entries
    ordered by the schema.

    Raised by :func:`~flask_apierrors.use_schema`; catch marshmallow's
    ``ValidationError`` to handle it yourself.

    :param messages: marshmallow's error messages.
    :param schema: The schema that failed.
    :param location: ``json``, ``query``, ``form`` or ``files``.
    :param data: The data given to the schema; ``valid_data``: what loaded.
    """

    def __init__(
        self,
        messages: str | list[t.Any] | dict[t.Any, t.Any],
        *,
        schema: Schema,
        location: str,
        data: t.Any = None,
        valid_data: t.Any = None,
    ) -> None:
        super().__init__(messages, data=data, valid_data=valid_data)
        self.schema = schema
        self.location = location


# -- schema walking --------------------------------------------------------

# A string: marshmallow 3 fields are not generic.
Field: t.TypeAlias = "ma_fields.Field[t.Any]"


def _field_child(field: Field | None) -> tuple[_Node | None, bool]:
    if field is None:
        return None, False
    return node_for_field(field), bool(field.load_only)


class _Node:
    """What the schema says about one level of the messages tree: the
    fields of a schema, the items of a List, Tuple or Mapping."""

    __slots__ = ("item", "items", "mapping")

    def __init__(
        self, item: _Node | None = None, items: t.Sequence[Field] = (), mapping: bool = False
    ) -> None:
        self.item = item
        self.items = items
        #: ``Dict``/``Mapping``: errors are ``{key: {"key": ..., "value": ...}}``.
        self.mapping = mapping

    def child(self, key: Segment) -> tuple[_Node | None, bool]:
        """The node below ``key`` and whether it is ``load_only``."""
        if self.items:
            # A Tuple's items, or a Mapping's value field (items of one).
            if self.mapping:
                return _field_child(self.items[0])
            ok = isinstance(key, int) and 0 <= key < len(self.items)
            return _field_child(self.items[t.cast(int, key)] if ok else None)
        return self.item, False


class _SchemaNode(_Node):
    __slots__ = ("_fields", "schema")

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        self.schema = schema
        self._fields: dict[str, Field] | None = None

    @property
    def fields(self) -> dict[str, Field]:
        if self._fields is None:
            # Errors are keyed by data_key, as the client spelled them.
            self._fields = {
                (f.data_key if f.data_key is not None else name): f
                for name, f in self.schema.fields.items()
                if not f.dump_only
            }
        return self._fields

    def child(self, key: Segment) -> tuple[_Node | None, bool]:
        return _field_child(self.fields.get(key) if isinstance(key, str) else None)

    def rank(self) -> dict[str, int]:
        return dict(zip(self.fields, range(len(self.fields)), strict=True))


class _PluckNode(_Node):
    """``Pluck``: errors nested under a name the client never sent."""

    __slots__ = ()


def node_for_schema(schema: Schema) -> _Node:
    """The node of a schema (a list of objects when ``many``)."""
    node = _SchemaNode(schema)
    return _Node(item=node) if schema.many else node


def node_for_field(field: Field) -> _Node | None:
    """The node below a field, or ``None`` for a leaf."""
    if isinstance(field, ma_fields.Pluck):
        return _Node(item=_PluckNode()) if field.many else _PluckNode()
    if isinstance(field, ma_fields.Nested):
        try:
            return node_for_schema(field.schema)
        except Exception:
            # A nested schema that can't be resolved only costs the ordering
            # and load_only information below it.
            return None
    if isinstance(field, ma_fields.List):
        return _Node(item=node_for_field(field.inner))
    if isinstance(field, ma_fields.Tuple):
        return _Node(items=tuple(field.tuple_fields))
    if isinstance(field, ma_fields.Mapping):
        value = field.value_field
        return _Node(items=() if value is None else (value,), mapping=True)
    return None


# -- flattening ------------------------------------------------------------


class _Entry(t.NamedTuple):
    path: tuple[Segment, ...]
    message: t.Any
    redact: bool
    node: _Node | None
    #: The entry is about the key of a mapping, not its value.
    key_error: bool = False


class _Rules:
    """The settings that flattening needs, prepared once per error."""

    def __init__(self, settings: Settings) -> None:
        self.fragments = _fragments(settings.redact_fields)
        self.max_length = settings.max_value_length
        self.redacted = settings.redacted_value

    def secret(self, name: str) -> bool:
        norm = _normalize(name)
        return any(fragment in norm for fragment in self.fragments)


def _normalize(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "").replace(" ", "")


@functools.lru_cache(maxsize=16)
def _fragments(redact_fields: tuple[str, ...] | str) -> tuple[str, ...]:
    if isinstance(redact_fields, str):
        redact_fields = (redact_fields,)
    # An empty fragment would match every name.
    return tuple(f for f in map(_normalize, redact_fields) if f)


def _ordered_keys(
    messages: t.Mapping[t.Any, t.Any], node: _Node | None, data: t.Any
) -> list[t.Any]:
    keys = list(messages)
    first = [k for k in keys if k == SCHEMA_KEY]
    others = [k for k in keys if k != SCHEMA_KEY]
    if isinstance(node, _SchemaNode):
        rank = node.rank()
        known = sorted((k for k in others if k in rank), key=rank.__getitem__)
        unknown = [k for k in others if k not in rank]
        if isinstance(data, abc.Mapping) and len(unknown) > 1:
            # marshmallow finds unknown fields with a set: use the payload's order.
            sent = {k: i for i, k in enumerate(data)}
            unknown.sort(key=lambda k: sent.get(k, len(sent)))
        return first + known + unknown
    if node is not None and not node.mapping:
        ints = sorted(k for k in others if isinstance(k, int) and not isinstance(k, bool))
        return first + ints + [k for k in others if not isinstance(k, int) or isinstance(k, bool)]
    return first + others


def _walk(
    messages: t.Any,
    path: tuple[Segment, ...],
    node: _Node | None,
    redact: bool,
    rules: _Rules,
    data: t.Any,
) -> t.Iterator[_Entry]:
    """Every message below ``path`` (where ``data`` was sent), in schema
    order."""
    if isinstance(messages, abc.Mapping):
        if isinstance(node, _PluckNode):
            for sub in messages.values():
                yield from _walk(sub, path, None, redact, rules, data)
            return
        for key in _ordered_keys(messages, node, data):
            sub = messages[key]
            if key == SCHEMA_KEY:
                yield from _walk(sub, path, node, redact, rules, data)
                continue
            ok = isinstance(key, (str, int)) and not isinstance(key, bool)
            seg: Segment = key if ok else str(key)
            child, load_only = node.child(seg) if node is not None else (None, False)
            child_redact = redact or load_only or (isinstance(seg, str) and rules.secret(seg))
            args = (path + (seg,), child, child_redact, rules, lookup(data, (seg,)))
            if node is not None and node.mapping and isinstance(sub, abc.Mapping):
                yield from _walk_mapping_item(sub, *args)
            else:
                yield from _walk(sub, *args)
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (abc.Mapping, list, tuple)):
                yield from _walk(item, path, node, redact, rules, data)
            else:
                yield _Entry(path, item, redact, node)
    else:
        yield _Entry(path, messages, redact, node)


def _walk_mapping_item(
    sub: t.Mapping[t.Any, t.Any],
    path: tuple[Segment, ...],
    child: _Node | None,
    redact: bool,
    rules: _Rules,
    data: t.Any,
) -> t.Iterator[_Entry]:
    if not set(sub) <= {"key", "value"}:
        yield from _walk(sub, path, None, redact, rules, data)
        return
    if "key" in sub:
        for entry in _walk(sub["key"], path, None, False, rules, MISSING):
            yield entry._replace(key_error=True)
    if "value" in sub:
        yield from _walk(sub["value"], path, child, redact, rules, data)


# -- values ----------------------------------------------------------------


def lookup(data: t.Any, path: t.Sequence[Segment]) -> t.Any:
    """The value at ``path`` in ``data``, or :data:`MISSING`."""
    cur = data
    for seg in path:
        if isinstance(seg, int) and isinstance(cur, (list, tuple)):
            if not 0 <= seg < len(cur):
                return MISSING
            cur = cur[seg]
        elif isinstance(cur, abc.Mapping):
            try:
                cur = cur[seg]
            except (KeyError, IndexError, TypeError):
                return MISSING
        else:
            return MISSING
        if cur is ma_missing:
            return MISSING
    return cur


class _Budget:
    def __init__(self, n: int) -> None:
        self.left, self.overflow = n, False


def _scrub(value: t.Any, node: _Node | None, rules: _Rules, budget: _Budget) -> t.Any:
    """A JSON-ready copy of ``value`` with secrets replaced, built with a
    bounded amount of work whatever the size of ``value``."""
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
    if isinstance(value, abc.Mapping):
        out: dict[str, t.Any] = {}
        for key, item in value.items():
            if budget.left <= 0:
                budget.overflow = True
                break
            name = key if isinstance(key, str) else str(key)
            child, load_only = node.child(name) if node is not None else (None, False)
            if load_only or rules.secret(name):
                budget.left -= 1
                out[name] = rules.redacted
            else:
                out[name] = _scrub(item, child, rules, budget)
        return out
    if isinstance(value, (list, tuple)):
        items: list[t.Any] = []
        for index, item in enumerate(value):
            if budget.left <= 0:
                budget.overflow = True
                break
            child, load_only = node.child(index) if node is not None else (None, False)
            items.append(rules.redacted if load_only else _scrub(item, child, rules, budget))
        return items
    # Anything else (bytes, objects) never came from JSON: not echoed.
    return None


def echo(value: t.Any, node: _Node | None, rules: _Rules) -> t.Any:
    """``value`` as echoed in ``invalid_value``: JSON-ready, secrets
    replaced, cut to ``max_value_length`` characters plus the marker."""
    limit = rules.max_length
    if limit <= 0:
        return MISSING
    budget = _Budget(limit + 1)
    scrubbed = _scrub(value, node, rules, budget)
    if isinstance(scrubbed, str):
        return _cut(scrubbed, limit)
    text = json.dumps(scrubbed, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if budget.overflow or len(text) > limit:
        return text[:limit] + TRUNCATION_MARKER
    return scrubbed


def _message(raw: t.Any) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if isinstance(raw, BaseException) or raw is None:
        text = GENERIC_MESSAGE
    else:
        text = str(raw)  # str, or a lazy translation string and the like
    if text == _DEFAULT_REQUIRED:
        return REQUIRED_MESSAGE
    return _cut(text, MAX_MESSAGE_LENGTH)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + TRUNCATION_MARKER


def format_path(path: t.Sequence[Segment]) -> str:
    """``("messages", 0, "content")`` -> ``messages[0].content``; names
    that are not plain words are quoted: ``meta["a.b"]``."""
    parts: list[str] = []
    for seg in path:
        if isinstance(seg, int):
            parts.append(f"[{seg}]")
            continue
        seg = _cut(seg, MAX_SEGMENT_LENGTH)
        if _PLAIN_NAME.fullmatch(seg):
            parts.append(f".{seg}" if parts else seg)
        else:
            parts.append("[" + json.dumps(seg, ensure_ascii=False) + "]")
    return _cut("".join(parts), MAX_PATH_LENGTH)


def _field_error(
    entry: _Entry, data: t.Any, rules: _Rules, settings: Settings, location: str | None
) -> FieldError:
    path = entry.path
    field = format_path(path) if path else settings.schema_error_field
    value: t.Any = MISSING
    # The top-level object is the whole request: not echoed back.
    if path and data is not MISSING:
        raw = path[-1] if entry.key_error else lookup(data, path)
        if raw is not MISSING and entry.redact and not entry.key_error:
            value = rules.redacted
        elif raw is not MISSING:
            try:
                value = echo(raw, None if entry.key_error else entry.node, rules)
            except Exception:  # an odd value costs its echo, never the answer
                value = MISSING
    return FieldError(
        field=field, message=_message(entry.message), invalid_value=value, location=location
    )


def field_errors(
    messages: t.Any,
    settings: Settings,
    *,
    data: t.Any = MISSING,
    schema: Schema | None = None,
    location: str | None = None,
    limit: int | None = None,
) -> tuple[list[FieldError], int]:
    """Flatten marshmallow ``messages`` into at most ``limit`` (default:
    the ``max_validation_errors`` setting) entries.

    :param messages: A ``ValidationError``'s ``normalized_messages()``.
    :param settings: Redaction, truncation and naming settings.
    :param data: The data that failed (to echo values), or :data:`MISSING`.
    :param schema: The schema that failed (for order and ``load_only``).
    :param location: Set on every entry (``query``, ``form`` ...), when
        errors of several locations are reported together.
    :param limit: Most entries returned.
    :returns: The entries and the total number of errors.
    """
    rules = _Rules(settings)
    limit = settings.max_validation_errors if limit is None else limit
    node = node_for_schema(schema) if schema is not None else None
    data = MISSING if data is None or data is ma_missing else data
    errors: list[FieldError] = []
    if limit > 0:
        for entry in _walk(messages, (), node, False, rules, data):
            errors.append(_field_error(entry, data, rules, settings, location))
            if len(errors) >= limit:
                break
    # Counted, not built: a huge invalid list costs little more.
    return errors, _count(messages)


def _count(messages: t.Any) -> int:
    """How many entries :func:`_walk` yields (text first: common, fast)."""
    if isinstance(messages, str):
        return 1
    if isinstance(messages, (list, tuple)):
        return sum(map(_count, messages))
    if isinstance(messages, abc.Mapping):
        return sum(map(_count, messages.values()))
    return 1


def validation_problem(
    ctx: Context, errors: t.Sequence[FieldError], total: int, *, status: int | None = None
) -> Problem:
    """The ``validation_error`` problem for ``errors``; ``total_errors``
    is reported when some were left out."""
    details = {"total_errors": total} if total > len(errors) else {}
    return ctx.problem(
        "validation_error",
        status=status if status is not None else ctx.settings.validation_status,
        details=details,
        errors=errors,
    )


def convert_validation_error(e: BaseException, ctx: Context) -> Problem | None:
    """Any marshmallow ``ValidationError`` raised while handling a request."""
    if not isinstance(e, ValidationError):
        return None
    # One request location is involved: entries carry no ``location``.
    schema = e.schema if isinstance(e, RequestValidationError) else None
    messages = e.messages
    if e.field_name != SCHEMA_KEY or not isinstance(messages, dict):
        messages = {e.field_name: messages}
    errors, total = field_errors(messages, ctx.settings, data=e.data, schema=schema)
    return validation_problem(ctx, errors, total)
