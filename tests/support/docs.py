"""The docs for their tests: where they are, their ``.. code-block::``
directives, and the Sphinx extension of ``docs/_ext`` loaded as a module."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def load_extension() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        "apierrors_docs", DOCS / "_ext" / "apierrors_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclasses.dataclass(frozen=True)
class Block:
    """One ``.. code-block::`` of a page."""

    #: Line number of the block's first line of code.
    line: int
    language: str
    #: The directive's options (``{"class": "output"}``).
    options: dict[str, str]
    code: str

    @property
    def is_output(self) -> bool:
        """Marked ``:class: output``: what the Python block before it prints."""
        return "output" in self.options.get("class", "").split()


def code_blocks(text: str) -> list[Block]:
    """Every ``.. code-block::`` of a reST text, in order."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = re.fullmatch(r"\s*\.\. code-block:: *(\S+)\s*", lines[i])
        if match is None:
            i += 1
            continue
        i += 1
        options: dict[str, str] = {}
        while i < len(lines) and lines[i].strip().startswith(":"):
            name, _, value = lines[i].strip()[1:].partition(":")
            options[name.strip()] = value.strip()
            i += 1
        start = i
        body: list[str] = []
        indent: int | None = None
        while i < len(lines):
            line = lines[i]
            if line.strip():
                width = len(line) - len(line.lstrip())
                if indent is None:
                    indent = width
                elif width < indent:
                    break
            body.append(line[indent:] if indent is not None and line.strip() else "")
            i += 1
        code = "\n".join(body).strip("\n") + "\n"
        blocks.append(Block(start + 1, match.group(1), options, code))
    return blocks
