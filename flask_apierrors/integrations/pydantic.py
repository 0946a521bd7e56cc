"""pydantic ``ValidationError`` -> a ``validation_error`` :class:`Problem`.

pydantic v2 raises one ``ValidationError`` (``pydantic_core``'s class, which
``pydantic`` re-exports) from ``Model.model_validate``, ``Model(...)``,
``TypeAdapter.validate_*``; one that escapes a view is answered here (the
frameworks built on pydantic, flask-openapi3, spectree and flask-pydantic,
answer their request validation themselves). Its flat ``errors()`` become
the same entries as
marshmallow's: paths from ``loc`` in the same syntax (``messages[0].content``,
with the name the client sent), pydantic's ``msg`` as message, its ``input``
echoed by the same rules (:mod:`~flask_apierrors.integrations.redaction`),
the same cap and ``total_errors``, and a machine code from its error type.

Where the model is known -- the pydantic call that raised is in the
exception's traceback -- its fields also tell which names are secret (field
names behind aliases, ``SecretStr`` and the other secret types) and which
``loc`` segments are union member labels (``pet.Cat.meow`` is reported as
``pet.meow``). A body that is not JSON (``model_validate_json``) is the
``invalid_json`` body. Only ``pydantic_core`` is imported up front.
"""

from __future__ import annotations

import typing as t

from pydantic_core import ValidationError

from ..problem import MISSING
from .fielderrors import field_error
from .fielderrors import message_text
from .fielderrors import validation_problem
from .pydantic_schema import DictNode
from .pydantic_schema import UnionNode
from .pydantic_schema import validated_node
from .redaction import UNKNOWN
from .redaction import Node
from .redaction import Rules
from .redaction import Segment
from .redaction import echo_or_missing

if t.TYPE_CHECKING:
    from ..config import Settings
    from ..problem import FieldError
    from ..problem import Problem
    from .base import Context

__all__ = ["TYPE_CODES", "convert_pydantic_error", "field_errors"]

#: The machine codes of pydantic's error types; other types ending in
#: ``_type`` are ``invalid_type``, the rest ``invalid``. A type, choice or
#: format error of a ``null`` input is ``null``.
TYPE_CODES: t.Final[t.Mapping[str, str]] = {
    **dict.fromkeys(
        (
            "missing",
            "missing_argument",
            "missing_keyword_only_argument",
            "missing_positional_only_argument",
        ),
        "required",
    ),
    **dict.fromkeys(
        ("extra_forbidden", "unexpected_keyword_argument", "unexpected_positional_argument"),
        "unknown_field",
    ),
    **dict.fromkeys(
        (
            "bool_parsing",
            "int_parsing",
            "int_from_float",
            "float_parsing",
            "decimal_parsing",
            "fraction_parsing",
            "complex_str_parsing",
            "string_unicode",
            "bytes_invalid_encoding",
            "none_required",
            "is_instance_of",
            "is_subclass_of",
            "set_item_not_hashable",
        ),
        "invalid_type",
    ),
    **dict.fromkeys(
        (
            "string_pattern_mismatch",
            "string_not_ascii",
            "date_parsing",
            "date_from_datetime_parsing",
            "date_from_datetime_inexact",
            "time_parsing",
            "datetime_parsing",
            "datetime_object_invalid",
            "datetime_from_date_parsing",
            "time_delta_parsing",
            "timezone_naive",
            "timezone_aware",
            "timezone_offset",
            "url_parsing",
            "url_syntax_violation",
            "url_scheme",
            "uuid_parsing",
            "uuid_version",
        ),
        "invalid_format",
    ),
    **dict.fromkeys(("literal_error", "enum", "union_tag_invalid"), "invalid_choice"),
    **dict.fromkeys(("string_too_short", "too_short", "bytes_too_short"), "too_short"),
    **dict.fromkeys(("string_too_long", "too_long", "bytes_too_long", "url_too_long"), "too_long"),
    **dict.fromkeys(
        (
            "greater_than",
            "greater_than_equal",
            "less_than",
            "less_than_equal",
            "int_parsing_size",
            "decimal_max_digits",
            "decimal_max_places",
            "decimal_whole_digits",
            "date_past",
            "date_future",
            "datetime_past",
            "datetime_future",
        ),
        "out_of_range",
    ),
}

# Errors about a value that was not sent: nothing to echo.
_ABSENT: t.Final = frozenset(k for k, v in TYPE_CODES.items() if v == "required")
# Codes that mean "not this value": of a null, they mean ``null``.
_NULLABLE: t.Final = frozenset({"invalid_type", "invalid_choice", "invalid_format"})
# pydantic's segment after a mapping key whose own validation failed.
_KEY_SEGMENT: t.Final = "[key]"


def type_code(error_type: str, value: t.Any) -> str:
    """The machine code of one pydantic error type (``value``: its input)."""
    code = TYPE_CODES.get(error_type)
    if code is None:
        code = "invalid_type" if error_type.endswith("_type") else "invalid"
    # A null where a value is needed, as marshmallow's ``null``.
    return "null" if value is None and code in _NULLABLE else code


class _Located(t.NamedTuple):
    path: list[Segment]
    node: Node | None
    redact: bool
    key_error: bool


def _locate(loc: t.Sequence[t.Any], root: Node | None, rules: Rules) -> _Located:
    """The path the client sent, the schema node there and whether the value
    is secret, from pydantic's ``loc`` (union labels left out)."""
    path: list[Segment] = []
    node, redact, in_mapping, skip = root, False, False, 0
    for index, raw in enumerate(loc):
        seg: Segment = (
            raw if isinstance(raw, (str, int)) and not isinstance(raw, bool) else str(raw)
        )
        if seg == _KEY_SEGMENT and (in_mapping or (root is None and index == len(loc) - 1)):
            return _Located(path, None, False, True)
        if skip:
            # The rest of an AliasPath: the client's keys, not the schema's.
            skip -= 1
            path.append(seg)
            continue
        if isinstance(node, UnionNode):
            # The member the label names; a value echoed at the label (the
            # whole value, of whichever member) is hidden as any would.
            node = node.merged() if index == len(loc) - 1 else node.pick(seg)
            continue
        in_mapping = isinstance(node, DictNode)
        child = node.child(seg) if node is not None else UNKNOWN
        redact = redact or rules.conceals(seg, child)
        skip = child.field if isinstance(child.field, int) else 0
        node = child.node
        path.append(seg)
    return _Located(path, node, redact, False)


def _field_error(
    error: t.Mapping[str, t.Any], root: Node | None, rules: Rules, settings: Settings
) -> FieldError:
    loc = error.get("loc", ())
    located = _locate(loc if isinstance(loc, (tuple, list)) else (), root, rules)
    error_type = str(error.get("type", ""))
    raw = error.get("input", MISSING)
    value: t.Any = MISSING
    if raw is not MISSING and error_type not in _ABSENT:
        if located.redact:
            value = rules.redacted
        else:
            value = echo_or_missing(raw, located.node, rules)
    return field_error(
        located.path,
        message_text(error.get("msg")),
        value,
        settings,
        code=lambda: type_code(error_type, raw),
    )


def field_errors(
    e: ValidationError, settings: Settings, *, limit: int | None = None
) -> tuple[list[FieldError], int]:
    """At most ``limit`` (default: the ``max_validation_errors`` setting)
    entries for a pydantic ``ValidationError``, and the total number of
    errors."""
    limit = settings.max_validation_errors if limit is None else limit
    total = e.error_count()
    if limit <= 0:
        return [], total
    rules = Rules(settings)
    root = validated_node(e)
    errors = [
        _field_error(error, root, rules, settings) for error in e.errors(include_url=False)[:limit]
    ]
    return errors, total


def convert_pydantic_error(e: BaseException, ctx: Context) -> Problem | None:
    """Any pydantic ``ValidationError`` raised while handling a request."""
    if not isinstance(e, ValidationError):
        return None
    if e.error_count() == 1:
        (first,) = e.errors(include_url=False, include_input=False)
        if first.get("type") == "json_invalid":
            # model_validate_json of a body that is not JSON.
            reason = (first.get("ctx") or {}).get("error", first.get("msg"))
            return ctx.problem("invalid_json", details={"json_error": message_text(reason)})
    errors, total = field_errors(e, ctx.settings)
    return validation_problem(ctx, errors, total)
