"""The examples of docs/adopting.rst run, top to bottom in one namespace,
and print what the page shows (what tests/test_docs_examples.py does for the
pages it lists, without importing the example app that module needs)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import typing as t
from pathlib import Path

PAGE: t.Final = Path(__file__).resolve().parents[2] / "docs" / "adopting.rst"


class Block(t.NamedTuple):
    line: int
    language: str
    output: bool
    code: str


def blocks(text: str) -> list[Block]:
    """Every ``.. code-block::`` of a reST page, in order."""
    lines = text.splitlines()
    found = []
    i = 0
    while i < len(lines):
        match = re.fullmatch(r"\s*\.\. code-block:: *(\S+)\s*", lines[i])
        i += 1
        if match is None:
            continue
        output = False
        while i < len(lines) and lines[i].strip().startswith(":"):
            output = output or lines[i].strip() == ":class: output"
            i += 1
        start = i
        body: list[str] = []
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
            body.append(lines[i][4:])
            i += 1
        found.append(Block(start + 1, match.group(1), output, "\n".join(body).strip("\n") + "\n"))
    return found


def shown(text: str) -> t.Any:
    try:
        return json.loads(text)
    except ValueError:
        return [line.rstrip() for line in text.strip().splitlines()]


def test_adopting_page_examples_run() -> None:
    page = blocks(PAGE.read_text(encoding="utf-8"))
    namespace: dict[str, t.Any] = {"__name__": "docs_adopting"}
    outputs = 0
    for i, block in enumerate(page):
        if block.language != "python":
            assert not block.output or page[i - 1].language == "python", block.line
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile("\n" * (block.line - 1) + block.code, str(PAGE), "exec"), namespace)
        following = page[i + 1] if i + 1 < len(page) else None
        if following is not None and following.output:
            assert shown(printed.getvalue()) == shown(following.code), following.line
            outputs += 1
    assert sum(b.language == "python" for b in page) >= 8
    assert outputs == 4
