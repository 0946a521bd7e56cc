"""What a pydantic schema says about each segment of an error's ``loc``:
the fields of a model (by alias or name, with their other names and whether
their type is a secret one), the items of a list, tuple or dict, the
members of a union.

Read from pydantic-core's core schema (the public ``__pydantic_core_schema__``
of a model, ``TypeAdapter.core_schema``), lazily and iteratively: a model
that nests itself costs one level per level of ``loc``. The model is found
in the exception's traceback, as the first argument of the pydantic entry
point that raised (``Model.model_validate``, ``Model(...)``,
``TypeAdapter.validate_python`` ...); without it, paths and redaction rely
on ``loc`` alone.
"""

from __future__ import annotations

import inspect
import sys
import typing as t

from .redaction import UNKNOWN
from .redaction import Child
from .redaction import Node
from .redaction import Segment

__all__ = ["DictNode", "FieldsNode", "ItemsNode", "UnionNode", "node_of", "validated_node"]

Schema = t.Mapping[str, t.Any]
Defs = dict[str, Schema]

# Schemas that wrap the one that matters, and where it is.
_INNER: t.Final[t.Mapping[str, str]] = {
    "nullable": "schema",
    "default": "schema",
    "function-after": "schema",
    "function-before": "schema",
    "function-wrap": "schema",
    "custom-error": "schema",
    "model": "schema",
    "dataclass": "schema",
    "definitions": "schema",
    "json-or-python": "python_schema",
    "lax-or-strict": "lax_schema",
}
# Most wrappers and references followed for one segment.
_MAX_UNWRAP: t.Final = 64


def _resolve(schema: t.Any, defs: Defs) -> tuple[Schema | None, type[t.Any] | None]:
    """The schema below the wrappers, and the model class met on the way."""
    model: type[t.Any] | None = None
    for _ in range(_MAX_UNWRAP):
        if not isinstance(schema, t.Mapping):
            return None, model
        ref = schema.get("ref")
        if isinstance(ref, str):
            defs.setdefault(ref, schema)
        kind = schema.get("type")
        if kind == "definitions":
            for item in schema.get("definitions", ()):
                if isinstance(item, t.Mapping) and isinstance(item.get("ref"), str):
                    defs.setdefault(item["ref"], item)
        if kind in ("model", "dataclass") and isinstance(schema.get("cls"), type):
            model = schema["cls"]
        if kind == "definition-ref":
            schema = defs.get(str(schema.get("schema_ref")))
        elif kind == "chain":
            steps = schema.get("steps") or (None,)
            schema = steps[-1]
        elif isinstance(kind, str) and kind in _INNER:
            schema = schema.get(_INNER[kind])
        else:
            return schema, model
    return None, model


def node_of(schema: t.Any, defs: Defs) -> Node | None:
    """The node of a core schema, or ``None`` for a leaf."""
    resolved, model = _resolve(schema, defs)
    if resolved is None:
        return None
    kind = resolved.get("type")
    if kind in ("model-fields", "typed-dict", "dataclass-args"):
        return FieldsNode(resolved, defs, model)
    if kind in ("list", "set", "frozenset", "generator", "tuple"):
        return ItemsNode(resolved, defs)
    if kind == "dict":
        return DictNode(resolved, defs)
    if kind in ("union", "tagged-union"):
        return UnionNode(resolved, defs)
    return None


def _aliases(alias: t.Any) -> tuple[list[str], int]:
    """The keys a ``validation_alias`` lets the client send, and how many
    more segments an ``AliasPath`` adds below it."""
    if isinstance(alias, str):
        return [alias], 0
    if not isinstance(alias, list) or not alias:
        return [], 0
    paths = alias if isinstance(alias[0], list) else [alias]
    keys = [p[0] for p in paths if p and isinstance(p[0], str)]
    return keys, max((len(p) - 1 for p in paths if p), default=0)


def _secret_fields(model: type[t.Any] | None) -> frozenset[str]:
    """Fields of ``model`` whose type is one of pydantic's secret types."""
    fields = getattr(model, "__pydantic_fields__", None)
    if not isinstance(fields, t.Mapping):
        return frozenset()
    return frozenset(name for name, info in fields.items() if _is_secret_type(info.annotation))


def _is_secret_type(annotation: t.Any) -> bool:
    pydantic = sys.modules.get("pydantic")
    if pydantic is None:
        return False
    secret = tuple(getattr(pydantic, n) for n in ("SecretStr", "SecretBytes", "Secret"))
    stack, seen = [annotation], 0
    while stack and seen < 32:
        item = stack.pop()
        seen += 1
        origin = t.get_origin(item) or item
        if isinstance(origin, type) and issubclass(origin, secret):
            return True
        stack.extend(t.get_args(item))
    return False


class FieldsNode:
    """The fields of a model, TypedDict or dataclass."""

    __slots__ = ("_by_key", "_defs", "_model", "_schema")

    def __init__(self, schema: Schema, defs: Defs, model: type[t.Any] | None) -> None:
        self._schema, self._defs, self._model = schema, defs, model
        self._by_key: dict[str, tuple[t.Any, tuple[str, ...], bool, int]] | None = None

    def _fields(self) -> dict[str, tuple[t.Any, tuple[str, ...], bool, int]]:
        if self._by_key is None:
            fields = self._schema.get("fields", {})
            items = (
                fields.items()
                if isinstance(fields, t.Mapping)
                else ((f.get("name"), f) for f in fields if isinstance(f, t.Mapping))
            )
            secret = _secret_fields(self._model)
            by_key: dict[str, tuple[t.Any, tuple[str, ...], bool, int]] = {}
            for name, field in items:
                keys, skip = _aliases(field.get("validation_alias"))
                extra = field.get("serialization_alias")
                names = tuple(n for n in (name, *keys, extra) if isinstance(n, str))
                hidden = name in secret
                # loc names a field as the client did: by an alias or its name.
                for key in keys:
                    by_key.setdefault(key, (field.get("schema"), names, hidden, skip))
                if isinstance(name, str):
                    by_key.setdefault(name, (field.get("schema"), names, hidden, 0))
            self._by_key = by_key
        return self._by_key

    def child(self, key: Segment) -> Child:
        found = self._fields().get(key) if isinstance(key, str) else None
        if found is None:
            return UNKNOWN
        schema, names, hidden, skip = found
        # ``field``: how many segments of an AliasPath follow.
        return Child(node_of(schema, self._defs), names, hidden, skip)


class ItemsNode:
    """The items of a list, set or tuple."""

    __slots__ = ("_defs", "_schema")

    def __init__(self, schema: Schema, defs: Defs) -> None:
        self._schema, self._defs = schema, defs

    def child(self, key: Segment) -> Child:
        items = self._schema.get("items_schema")
        if isinstance(items, list):
            # A tuple: one schema per position, the variadic one repeated.
            variadic = self._schema.get("variadic_item_index")
            if not isinstance(key, int) or key < 0:
                return UNKNOWN
            if isinstance(variadic, int) and key >= variadic:
                key = variadic
            items = items[key] if key < len(items) else None
        return Child(node_of(items, self._defs)) if items is not None else UNKNOWN


class DictNode:
    """The values of a dict (``loc`` is ``(key, "[key]")`` for a key)."""

    __slots__ = ("_defs", "_schema")

    def __init__(self, schema: Schema, defs: Defs) -> None:
        self._schema, self._defs = schema, defs

    def child(self, key: Segment) -> Child:
        return Child(node_of(self._schema.get("values_schema"), self._defs))


class UnionNode:
    """A union: pydantic names the member each error is about in ``loc``."""

    __slots__ = ("_defs", "_schema")

    def __init__(self, schema: Schema, defs: Defs) -> None:
        self._schema, self._defs = schema, defs

    def _members(self) -> list[tuple[t.Any, t.Any]]:
        choices = self._schema.get("choices")
        if isinstance(choices, t.Mapping):
            return [(schema, tag) for tag, schema in choices.items()]
        return [
            (choice[0], choice[1])
            if isinstance(choice, (tuple, list)) and len(choice) == 2
            else (choice, None)
            for choice in choices or ()
        ]

    def pick(self, label: Segment) -> Node | None:
        """The member a ``loc`` label names (its tag, its model's name, its
        type), or all of them merged when none is named so."""
        nodes = []
        for schema, tag in self._members():
            resolved, model = _resolve(schema, self._defs)
            if tag is not None:
                named = str(tag) == str(label)
            elif model is not None:
                named = model.__name__ == label
            else:
                named = resolved is not None and resolved.get("type") == label
            if named:
                return node_of(schema, self._defs)
            nodes.append(node_of(schema, self._defs))
        return _Merged(tuple(n for n in nodes if n is not None))

    def merged(self) -> Node | None:
        """All members merged: what any of them would hide is hidden."""
        return self.pick(_NO_LABEL)

    def child(self, key: Segment) -> Child:
        merged = self.merged()
        return merged.child(key) if merged is not None else UNKNOWN


# Names no member: pick() merges them all.
_NO_LABEL: t.Final = "\x00"


class _Merged:
    """Members of a union that can't be told apart: a name is secret or a
    value hidden if it is in any of them."""

    __slots__ = ("nodes",)

    def __init__(self, nodes: tuple[Node, ...]) -> None:
        self.nodes = nodes

    def child(self, key: Segment) -> Child:
        found = [n.child(key) for n in self.nodes]
        node = next((c.node for c in found if c.node is not None), None)
        names = tuple(name for c in found for name in c.names)
        skip = next((c.field for c in found if isinstance(c.field, int) and c.field), 0)
        return Child(node, names, any(c.hidden for c in found), skip)


_ENTRY_POINTS: dict[t.Any, str] = {}


def _entry_points() -> dict[t.Any, str]:
    """The code of pydantic's validating entry points: ``model`` (their
    first argument is the model class or instance) or ``adapter``."""
    pydantic = sys.modules.get("pydantic")
    if _ENTRY_POINTS or pydantic is None:
        return _ENTRY_POINTS
    for owner, kind, names in (
        (pydantic.BaseModel, "model", ("__init__", "model_validate", "model_validate_json")),
        (pydantic.BaseModel, "model", ("model_validate_strings",)),
        (pydantic.TypeAdapter, "adapter", ("validate_python", "validate_json")),
        (pydantic.TypeAdapter, "adapter", ("validate_strings",)),
    ):
        for name in names:
            attr = inspect.getattr_static(owner, name, None)
            func = getattr(attr, "__func__", attr)
            code = getattr(inspect.unwrap(func), "__code__", None) if callable(func) else None
            if code is not None:
                _ENTRY_POINTS[code] = kind
    return _ENTRY_POINTS


def validated_node(e: BaseException) -> Node | None:
    """The node of the model or type whose validation raised ``e``, found
    in its traceback; ``None`` if it is not there (an error built by hand,
    or by a library that validates some other way)."""
    if "pydantic" not in sys.modules:
        return None
    entries = _entry_points()
    found: tuple[str, t.Any] | None = None
    tb = e.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        kind = entries.get(frame.f_code)
        if kind is not None and frame.f_code.co_varnames:
            found = (kind, frame.f_locals.get(frame.f_code.co_varnames[0]))
        tb = tb.tb_next
    if found is None:
        return None
    kind, owner = found
    try:
        if kind == "model":
            cls = owner if isinstance(owner, type) else type(owner)
            schema = getattr(cls, "__pydantic_core_schema__", None)
        else:
            schema = owner.core_schema
        return node_of(schema, {})
    except Exception:  # a model not fully built: paths come from loc alone
        return None
