"""The docs: they build with warnings as errors, their code examples run,
and the generated parts (settings, error reference) cover the code."""

from __future__ import annotations

import dataclasses
import html
import importlib.util
import json
import re
import subprocess
import sys
import types
import typing as t
from pathlib import Path

import pytest

from flask_apierrors import Catalog
from flask_apierrors import docgen
from flask_apierrors.config import Settings
from flask_apierrors.config import config_key

from .support.servers import GunicornServer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: Pages whose ``.. code-block:: python`` examples run in the tests, each
#: page in one namespace, top to bottom.
EXAMPLE_PAGES: t.Final = (
    "quickstart",
    "configuration",
    "formats",
    "blueprints",
    "client",
    "testing",
    "validation",
    "streams",
    "availability",
)


def load_extension() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        "apierrors_docs", DOCS / "_ext" / "apierrors_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every ``.. code-block:: python``."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            while i < len(lines) and lines[i].strip().startswith(":"):
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
            blocks.append((start + 1, "\n".join(body).strip("\n") + "\n"))
        else:
            i += 1
    return blocks


@pytest.fixture(scope="module")
def base_url() -> t.Iterator[str]:
    with GunicornServer("tests.apps.client_app:app", health_path="/ok") as server:
        yield server.url


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_code_examples_run(page: str, request: pytest.FixtureRequest) -> None:
    path = DOCS / f"{page}.rst"
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    assert blocks, f"{page}.rst has no Python examples"
    namespace: dict[str, t.Any] = {"__name__": f"docs_{page}"}
    if "base_url" in path.read_text(encoding="utf-8"):
        namespace["base_url"] = request.getfixturevalue("base_url")
    for line, code in blocks:
        # Line numbers in tracebacks point into the page.
        exec(compile("\n" * (line - 1) + code, str(path), "exec"), namespace)


def test_block_extraction() -> None:
    text = (
        "Intro\n\n.. code-block:: python\n   :caption: x\n\n    a = 1\n\n    if a:\n"
        "        b = 2\n\nAfter\n\n.. code-block:: console\n\n    $ ls\n"
    )
    assert python_blocks(text) == [(5, "a = 1\n\nif a:\n    b = 2\n")]


@pytest.mark.parametrize("field", dataclasses.fields(Settings), ids=lambda f: f.name)
def test_configuration_page_documents_every_setting(field: dataclasses.Field[t.Any]) -> None:
    text = load_extension().config_rest()
    entry = text.split(f".. data:: {config_key(field.name)}\n", 1)[1].split(".. data::", 1)[0]
    default = field.default if field.default is not dataclasses.MISSING else None
    assert f":Default: ``{default!r}``" in entry
    assert f":Keyword: ``{field.name}=``" in entry
    # The description is the ``#:`` comment above the field.
    assert len(entry.strip().splitlines()) > 2, f"{field.name} has no description"


def test_every_config_key_in_the_code_is_a_setting() -> None:
    keys = {config_key(name) for name in Settings.names()}
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "flask_apierrors").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        # Wildcards (APIERRORS_<NAME>, APIERRORS_MAINTENANCE*) are not keys.
        for match in re.finditer(r"APIERRORS_[A-Z][A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*[*<])", text):
            found.setdefault(match.group(), set()).add(path.name)
    unknown = {key: files for key, files in found.items() if key not in keys}
    assert not unknown, f"Not settings (so not documented): {unknown}"


def test_index_lists_every_page() -> None:
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^   ([a-z_]+)$", index, re.MULTILINE))
    pages = {p.stem for p in DOCS.glob("*.rst")} - {"index"}
    assert pages <= listed, pages - listed
    assert listed <= pages, listed - pages


@pytest.mark.slow
def test_docs_build_with_warnings_as_errors(tmp_path: Path) -> None:
    out = tmp_path / "html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    configuration = (out / "configuration.html").read_text(encoding="utf-8")
    for name in Settings.names():
        assert f'id="{config_key(name)}"' in configuration
    errors = text_of(out / "errors.html")
    reference = docgen.Reference.from_settings()
    for spec in Catalog.default():
        assert f"\n{docgen.display_code(spec, reference.app_scope)}¶\n" in errors, spec.code
        body = docgen.example_body(spec, reference.app_scope)
        assert json.dumps(body, indent=2, ensure_ascii=False) in errors, spec.code
    api = (out / "api.html").read_text(encoding="utf-8")
    for target in (
        "flask_apierrors.ApiErrors",
        "flask_apierrors.client.raise_for_error",
        "flask_apierrors.client.ErrorTracker",
        "flask_apierrors.openapi.ApiErrorsPlugin",
        "flask_apierrors.openapi.document",
        "flask_apierrors.testing.assert_api_error",
        "flask_apierrors.docgen.to_markdown",
    ):
        assert f'id="{target}"' in api, target


def text_of(path: Path) -> str:
    """The text of an HTML page, tags removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
