"""Field paths read back, and written as RFC 6901 JSON Pointers."""

from __future__ import annotations

import typing as t

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_apierrors.fieldpath import json_pointer
from flask_apierrors.fieldpath import parse_path
from flask_apierrors.fieldpath import pointer_of
from flask_apierrors.integrations.fielderrors import format_path


@pytest.mark.parametrize(
    ("path", "segments", "pointer"),
    [
        ("model", ("model",), "/model"),
        ("messages[0].content", ("messages", 0, "content"), "/messages/0/content"),
        ("[3]", (3,), "/3"),
        ("matrix[1][2]", ("matrix", 1, 2), "/matrix/1/2"),
        ('meta["a.b"]', ("meta", "a.b"), "/meta/a.b"),
        ('meta["a/b~c"].x', ("meta", "a/b~c", "x"), "/meta/a~1b~0c/x"),
        ('["with space"]', ("with space",), "/with space"),
        ('a["\\"q\\""]', ("a", '"q"'), '/a/"q"'),
        ("", (), ""),
    ],
)
def test_paths_and_pointers(path: str, segments: tuple[t.Any, ...], pointer: str) -> None:
    assert parse_path(path) == segments
    assert json_pointer(segments) == pointer
    assert pointer_of(path) == pointer


@pytest.mark.parametrize("path", ["a..b", ".a", "a[", "a[x]", 'a["unterminated', "a b", 'a["x"y'])
def test_other_text_is_one_name(path: str) -> None:
    assert parse_path(path) is None
    assert pointer_of(path) == "/" + path.replace("~", "~0").replace("/", "~1")


_segments = st.lists(
    st.one_of(st.integers(0, 10**6), st.text(min_size=1, max_size=20)), min_size=1, max_size=6
)


@given(_segments)
def test_every_path_the_integrations_write_reads_back(segments: list[t.Any]) -> None:
    """format_path (the one writer of field paths) and parse_path agree."""
    path = format_path(segments)
    assert parse_path(path) == tuple(segments)
    expected = "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)
    assert pointer_of(path) == expected
