"""The examples of docs/adopting.rst run, top to bottom in one namespace,
and print what the page shows (what tests/test_docs_examples.py does for the
pages it lists, without importing the example app that module needs)."""

from __future__ import annotations

import contextlib
import io
import json
import typing as t

from tests.support.docs import DOCS
from tests.support.docs import code_blocks

PAGE: t.Final = DOCS / "adopting.rst"


def shown(text: str) -> t.Any:
    try:
        return json.loads(text)
    except ValueError:
        return [line.rstrip() for line in text.strip().splitlines()]


def test_adopting_page_examples_run() -> None:
    page = code_blocks(PAGE.read_text(encoding="utf-8"))
    namespace: dict[str, t.Any] = {"__name__": "docs_adopting"}
    outputs = 0
    for i, block in enumerate(page):
        if block.language != "python":
            assert not block.is_output or page[i - 1].language == "python", block.line
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile("\n" * (block.line - 1) + block.code, str(PAGE), "exec"), namespace)
        following = page[i + 1] if i + 1 < len(page) else None
        if following is not None and following.is_output:
            assert shown(printed.getvalue()) == shown(following.code), following.line
            outputs += 1
    assert sum(b.language == "python" for b in page) >= 8
    assert outputs == 4
