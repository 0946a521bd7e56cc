"""What a marshmallow schema says about each level of its errors: the
fields of a schema (by the name on the wire), the items of a List, Tuple or
Mapping, and for each field its other names and whether it is
``load_only``."""

from __future__ import annotations

import typing as t

from marshmallow import fields as ma_fields

from ..redaction import UNKNOWN
from ..redaction import Child
from ..redaction import Segment

if t.TYPE_CHECKING:
    from marshmallow import Schema

# A string: marshmallow 3 fields are not generic.
Field: t.TypeAlias = "ma_fields.Field[t.Any]"


def field_child(field: Field | None) -> Child:
    """What the schema says about the value of ``field``."""
    if field is None:
        return UNKNOWN
    # The attribute name counts as much as the name on the wire (data_key).
    names = tuple(n for n in (field.name, field.attribute) if isinstance(n, str) and n)
    return Child(node_for_field(field), names, bool(field.load_only), field)


class Node:
    """One level of the messages tree: the item of a List, the items of a
    Tuple, the values of a Mapping."""

    __slots__ = ("item", "items", "keys", "mapping")

    def __init__(
        self,
        item: Node | None = None,
        items: t.Sequence[Field] = (),
        mapping: bool = False,
        keys: Field | None = None,
    ) -> None:
        self.item = item
        self.items = items
        #: ``Dict``/``Mapping``: errors are ``{key: {"key": ..., "value": ...}}``.
        self.mapping = mapping
        #: The key field of a ``Dict``/``Mapping``.
        self.keys = keys

    def child(self, key: Segment) -> Child:
        """What the schema says about the value below ``key``."""
        if self.items:
            # A Tuple's items, or a Mapping's value field (items of one).
            if self.mapping:
                return field_child(self.items[0])
            ok = isinstance(key, int) and 0 <= key < len(self.items)
            return field_child(self.items[t.cast(int, key)] if ok else None)
        return Child(self.item)


class SchemaNode(Node):
    """The fields of a schema, keyed by the name the client sends."""

    __slots__ = ("_children", "_fields", "_rank", "schema")

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        self.schema = schema
        self._fields: dict[str, Field] | None = None
        self._children: dict[str, Child] = {}
        self._rank: dict[str, int] | None = None

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

    def child(self, key: Segment) -> Child:
        if not isinstance(key, str) or key not in self.fields:
            return UNKNOWN
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = field_child(self.fields[key])
        return found

    def rank(self) -> dict[str, int]:
        """The position of each field in the schema."""
        if self._rank is None:
            self._rank = {name: i for i, name in enumerate(self.fields)}
        return self._rank


class PluckNode(Node):
    """``Pluck``: errors nested under a name the client never sent."""

    __slots__ = ()


#: The attribute a schema instance keeps its node in: what it says about
#: its errors is read once, not per error, and goes with the schema.
_NODE_ATTR: t.Final = "_flask_apierrors_node"


def node_for_schema(schema: Schema) -> Node:
    """The node of a schema (a list of objects when ``many``); its fields
    are read once per schema instance."""
    fields: SchemaNode | None = getattr(schema, _NODE_ATTR, None)
    if fields is None:
        fields = SchemaNode(schema)
        try:
            setattr(schema, _NODE_ATTR, fields)
        except AttributeError:  # a schema that takes no attributes: read it every time
            pass
    return Node(item=fields) if schema.many else fields


def node_for_field(field: Field) -> Node | None:
    """The node below a field, or ``None`` for a leaf. A nested schema is
    read only when something is found below it, so a schema that nests
    itself (``Nested(lambda: Tree())``) costs one level per level sent."""
    if isinstance(field, ma_fields.Pluck):
        return Node(item=PluckNode()) if field.many else PluckNode()
    if isinstance(field, ma_fields.Nested):
        try:
            return node_for_schema(field.schema)
        except Exception:
            # A nested schema that can't be resolved only costs the ordering
            # and load_only information below it.
            return None
    if isinstance(field, ma_fields.List):
        return Node(item=node_for_field(field.inner))
    if isinstance(field, ma_fields.Tuple):
        return Node(items=tuple(field.tuple_fields))
    if isinstance(field, ma_fields.Mapping):
        value = field.value_field
        return Node(items=() if value is None else (value,), mapping=True, keys=field.key_field)
    return None
