"""The field path of a :class:`~flask_apierrors.FieldError` read back into
its segments, and written as an RFC 6901 JSON Pointer.

Every validation integration (marshmallow, webargs, pydantic) writes the
path of a field one way: names joined by dots, list indexes in brackets,
names that are not plain words quoted as JSON strings in brackets
(``messages[0].content``, ``meta["a.b"]``). This module is the one place
that turns such a path into a pointer: ``/messages/0/content``, ``~`` and
``/`` in names escaped as ``~0`` and ``~1``. Pure functions, no Flask.

.. versionadded:: 0.2
"""

from __future__ import annotations

import json
import re
import typing as t

__all__ = ["json_pointer", "parse_path", "pointer_of"]

#: A segment: a name or a list index.
Segment: t.TypeAlias = str | int

#: A name written bare in a path; any other is quoted.
PLAIN_NAME: t.Final = re.compile(r"[^\s.\[\]\"'\\\x00-\x1f\x7f]+")
_INDEX: t.Final = re.compile(r"\[(\d+)\]")
_DECODER: t.Final = json.JSONDecoder()


def parse_path(path: str) -> tuple[Segment, ...] | None:
    """``messages[0].content`` -> ``("messages", 0, "content")``;
    ``None`` for text that is not a path of that syntax (a path cut short,
    a name written by hand)."""
    segments: list[Segment] = []
    i, end = 0, len(path)
    while i < end:
        if path[i] == "[":
            index = _INDEX.match(path, i)
            if index is not None:
                segments.append(int(index.group(1)))
                i = index.end()
                continue
            if path.startswith('["', i):
                try:
                    name, after = _DECODER.raw_decode(path, i + 1)
                except ValueError:
                    return None
                if not isinstance(name, str) or not path.startswith("]", after):
                    return None
                segments.append(name)
                i = after + 1
                continue
            return None
        if segments:
            if path[i] != ".":
                return None
            i += 1
        name_match = PLAIN_NAME.match(path, i)
        if name_match is None:
            return None
        segments.append(name_match.group(0))
        i = name_match.end()
    return tuple(segments)


def json_pointer(segments: t.Iterable[Segment]) -> str:
    """``("messages", 0, "a/b~c")`` -> ``/messages/0/a~1b~0c`` (RFC 6901);
    no segments: ``""``, the whole document."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def pointer_of(path: str) -> str:
    """The JSON Pointer of a field path; a path of another syntax is taken
    as one name (``/<path>``), so every field error gets a pointer."""
    segments = parse_path(path)
    return json_pointer(segments if segments is not None else (path,))
