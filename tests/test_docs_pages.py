"""The docs as a whole: they build with warnings as errors, the generated
parts (settings, error reference, API) cover the code, the index lists
every page, and the example app's page documents its every setting."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from example_app.settings import DEFAULTS as EXAMPLE_APP_SETTINGS
from flask_apierrors import Catalog
from flask_apierrors import docgen
from flask_apierrors.config import all_names
from flask_apierrors.config import config_key

from .support.docs import DOCS
from .support.docs import ROOT


def test_example_app_page_documents_every_setting() -> None:
    text = (DOCS / "example_app.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. envvar:: EXAMPLE_APP_(\w+)$", text, re.MULTILINE))
    assert documented == set(EXAMPLE_APP_SETTINGS)
    # Every name mentioned anywhere is a setting (or the extension's prefix).
    pages = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.rst"))
    mentioned = set(re.findall(r"EXAMPLE_APP_([A-Z][A-Z0-9_]*[A-Z0-9])\b", pages))
    assert mentioned - {"APIERRORS"} <= set(EXAMPLE_APP_SETTINGS)
    gunicorn_conf = (ROOT / "example_app" / "gunicorn.conf.py").read_text(encoding="utf-8")
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS"):
        assert name in text and f'"{name}"' in gunicorn_conf, name


def test_index_lists_every_page() -> None:
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    entries = re.findall(r"^   ([a-z_]+)$", index, re.MULTILINE)
    listed = set(entries)
    pages = {p.stem for p in DOCS.glob("*.rst")} - {"index"}
    assert pages <= listed, pages - listed
    assert listed <= pages, listed - pages
    assert len(entries) == len(listed), f"listed twice: {entries}"
    # The reading order: the guide from the first steps, then the reference.
    assert entries[:2] == ["quickstart", "configuration"]
    assert entries[-1] == "changes"


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
    for name in all_names():
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
