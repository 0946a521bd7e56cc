"""marshmallow's nested ``messages``, flattened in schema order.

Iterative throughout: a tree of errors (or of data) of any depth costs no
recursion, and a path one more level costs one pair, not a copy.
"""

from __future__ import annotations

import typing as t
from collections import abc

from marshmallow import missing as ma_missing

from ...problem import MISSING
from ..fielderrors import SCHEMA_KEY
from ..fielderrors import key_segment
from ..redaction import UNKNOWN
from ..redaction import Rules
from ..redaction import Segment
from .schema import Field
from .schema import Node
from .schema import PluckNode
from .schema import SchemaNode

if t.TYPE_CHECKING:
    from marshmallow import Schema

#: Most containers and messages visited for one error: a tree built by
#: hand may share branches or even contain itself.
MAX_VISITS: t.Final = 1_000_000

#: Deepest level the schema is read at. marshmallow itself can't load data
#: much deeper (it recurses); past this, a schema that nests itself would
#: cost a schema instance per level, so what lies deeper is not echoed.
MAX_SCHEMA_DEPTH: t.Final = 256

#: A path as a chain of ``(parent, segment)`` pairs.
Path = tuple["Path", Segment] | None


def segments(path: Path) -> list[Segment]:
    """The segments of a chained path, outermost first."""
    out: list[Segment] = []
    while path is not None:
        path, seg = path
        out.append(seg)
    out.reverse()
    return out


class Level(t.NamedTuple):
    """Messages still to be flattened, and where they are."""

    messages: t.Any
    path: Path
    node: Node | None
    #: The field the messages are about, where the schema is known.
    field: Field | None
    #: The schema of the object the messages are in (codes of unknown fields).
    schema: Schema | None
    redact: bool
    #: What was sent at ``path``, or MISSING.
    data: t.Any
    #: The messages are about the key of a mapping, not its value.
    key_error: bool = False
    #: How many keys deep ``path`` is.
    depth: int = 0


class Entry(t.NamedTuple):
    """One message and where it is."""

    message: t.Any
    level: Level


def _ordered_keys(messages: t.Mapping[t.Any, t.Any], node: Node | None, data: t.Any) -> list[t.Any]:
    first: list[t.Any] = []
    others: list[t.Any] = []
    if isinstance(node, SchemaNode):
        rank = node.rank()
        unknown: list[t.Any] = []
        for key in messages:
            if key == SCHEMA_KEY:
                first.append(key)
            elif key in rank:
                others.append(key)
            else:
                unknown.append(key)
        others.sort(key=rank.__getitem__)
        if len(unknown) > 1 and isinstance(data, abc.Mapping):
            # marshmallow finds unknown fields with a set: use the payload's order.
            sent = {k: i for i, k in enumerate(data)}
            unknown.sort(key=lambda k: sent.get(k, len(sent)))
        return first + others + unknown
    for key in messages:
        (first if key == SCHEMA_KEY else others).append(key)
    if node is not None and not node.mapping:
        ints = sorted(k for k in others if isinstance(k, int) and not isinstance(k, bool))
        return first + ints + [k for k in others if not isinstance(k, int) or isinstance(k, bool)]
    return first + others


def _below(level: Level, rules: Rules) -> t.Iterator[Level | Entry]:
    """What is one level below ``level``, in schema order: whole-object
    errors first, then fields, unknown fields, list items by index."""
    messages, node = level.messages, level.node
    if isinstance(messages, abc.Mapping):
        if isinstance(node, PluckNode):
            for sub in messages.values():
                yield level._replace(messages=sub, node=None)
            return
        schema = node.schema if isinstance(node, SchemaNode) else None
        for key in _ordered_keys(messages, node, level.data):
            sub = messages[key]
            if key == SCHEMA_KEY:
                yield level._replace(messages=sub, schema=schema or level.schema)
                continue
            seg = key_segment(key)
            child = node.child(seg) if node is not None else UNKNOWN
            deep = level.depth >= MAX_SCHEMA_DEPTH
            below = Level(
                sub,
                (level.path, seg),
                None if deep else t.cast("Node | None", child.node),
                child.field,
                schema,
                deep or level.redact or rules.conceals(seg, child),
                lookup(level.data, (seg,)),
                depth=level.depth + 1,
            )
            if node is None or not node.mapping or not isinstance(sub, abc.Mapping):
                yield below
            elif not set(sub) <= {"key", "value"}:
                yield below._replace(node=None, field=None)
            else:
                if "key" in sub:
                    key_level = below._replace(node=None, field=node.keys, redact=False)
                    yield key_level._replace(messages=sub["key"], key_error=True)
                if "value" in sub:
                    yield below._replace(messages=sub["value"])
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            if isinstance(item, (abc.Mapping, list, tuple)):
                yield level._replace(messages=item)
            else:
                yield Entry(item, level)
    else:
        yield Entry(messages, level)


def walk(root: Level, rules: Rules) -> t.Iterator[Entry]:
    """Every message below ``root``, in schema order."""
    stack: list[t.Iterator[Level | Entry]] = [iter((root,))]
    for _ in range(MAX_VISITS):
        if not stack:
            return
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
        elif isinstance(item, Entry):
            yield item
        elif type(item.messages) is list and not any(map(_is_container, item.messages)):
            # The usual leaf, a field's list of messages: no level below.
            for message in item.messages:
                yield Entry(message, item)
        else:
            stack.append(_below(item, rules))


def _is_container(item: t.Any) -> bool:
    return isinstance(item, (abc.Mapping, list, tuple))


def count(messages: t.Any) -> int:
    """How many entries :func:`walk` yields (without building them)."""
    total = 0
    stack = [messages]
    for _ in range(MAX_VISITS):
        if not stack:
            break
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, abc.Mapping):
            stack.extend(item.values())
        else:
            total += 1
    return total


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
