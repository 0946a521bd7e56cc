"""Markdown and reST writers: the same document, spelled in either markup.

.. versionadded:: 0.1
"""

from __future__ import annotations

import typing as t


class _Writer:
    """Builds the document; subclasses spell headings, code and lists."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"

    def para(self, text: str) -> None:
        self.lines.extend([text, ""])

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def heading(self, text: str, level: int) -> None:
        raise NotImplementedError

    def code(self, text: str, language: str) -> None:
        raise NotImplementedError

    def bullet(self, text: str, indent: int = 0) -> None:
        raise NotImplementedError

    def literal(self, text: str) -> str:
        raise NotImplementedError

    def strong(self, text: str) -> str:
        return f"**{text}**"

    def escape(self, text: str) -> str:
        """Catalog text (descriptions, codes) made safe for the markup."""
        return text


class _Markdown(_Writer):
    def __init__(self) -> None:
        super().__init__()
        self._tight = False

    def heading(self, text: str, level: int) -> None:
        self.blank()
        self.lines.append("#" * level + " " + text)
        self._tight = level >= 4
        if not self._tight:
            self.lines.append("")

    def code(self, text: str, language: str) -> None:
        # As the documented references lay it out: "- **Example**:" then the
        # fence, with no blank line between.
        if not (self.lines and self.lines[-1].startswith("- ")):
            self.blank()
        self.lines.extend([f"```{language}", *text.rstrip("\n").splitlines(), "```", ""])

    def bullet(self, text: str, indent: int = 0) -> None:
        self.lines.append("  " * indent + "- " + text)

    def para(self, text: str) -> None:
        # A code's heading is followed directly by its list.
        if self._tight:
            self.lines.append("")
        self._tight = False
        super().para(text)

    def literal(self, text: str) -> str:
        return f"`{text}`"


_REST_SPECIAL: t.Final = str.maketrans({c: "\\" + c for c in "\\*_`|[]<>"})


class _Rest(_Writer):
    _UNDERLINES = "=-~^\"'"

    def heading(self, text: str, level: int) -> None:
        self.blank()
        self.lines.extend([text, self._UNDERLINES[level - 1] * len(text), ""])

    def code(self, text: str, language: str) -> None:
        self.blank()
        self.lines.extend([f".. code-block:: {language}", ""])
        lines = text.rstrip("\n").splitlines()
        self.lines.extend(("   " + line) if line else "" for line in lines)
        self.lines.append("")

    def bullet(self, text: str, indent: int = 0) -> None:
        previous = self.lines[-1] if self.lines else ""
        previous_indent = len(previous) - len(previous.lstrip(" "))
        if previous and previous_indent != 2 * indent:
            # reST needs a blank line around a nested list.
            self.lines.append("")
        self.lines.append("  " * indent + "- " + text)

    def literal(self, text: str) -> str:
        return f"``{text}``"

    def escape(self, text: str) -> str:
        return text.translate(_REST_SPECIAL)

    def para(self, text: str) -> None:
        # Shared sentences spell literals Markdown-style: `code`.
        super().para(_md_to_rest(text))


def _md_to_rest(text: str) -> str:
    parts = text.split("`")
    return "".join(f"``{p}``" if i % 2 else p for i, p in enumerate(parts))
