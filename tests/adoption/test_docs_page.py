"""The examples of docs/adopting.rst run, top to bottom in one namespace,
and print what the page shows (as tests/test_docs.py does for the pages it
lists)."""

from __future__ import annotations

import contextlib
import io
import typing as t
from pathlib import Path

from tests.test_docs import assert_same_output
from tests.test_docs import code_blocks

PAGE: t.Final = Path(__file__).resolve().parents[2] / "docs" / "adopting.rst"


def test_adopting_page_examples_run() -> None:
    blocks = code_blocks(PAGE.read_text(encoding="utf-8"))
    namespace: dict[str, t.Any] = {"__name__": "docs_adopting"}
    ran = 0
    for i, block in enumerate(blocks):
        if block.language != "python":
            assert not block.is_output or blocks[i - 1].language == "python", block.line
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile("\n" * (block.line - 1) + block.code, str(PAGE), "exec"), namespace)
        ran += 1
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if following is not None and following.is_output:
            assert_same_output(printed.getvalue(), following.code, f"{PAGE}:{following.line}")
    assert ran >= 8
