"""``flask apierrors docs``."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from flask import Blueprint
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import docgen
from flask_apierrors.state import get_state

from .conftest import MakeApp

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli_app(make_app: MakeApp) -> Flask:
    app, ext = make_app()
    images = Blueprint("images", __name__, url_prefix="/api/v1")
    app.register_blueprint(images)
    ext.override(images, format="detail")
    ext.catalog.add("job_not_found", 404, "Job not found", group="resource")
    return app


@pytest.mark.parametrize(
    ("args", "render"),
    [
        ([], docgen.to_markdown),
        (["--format", "markdown"], docgen.to_markdown),
        (["--format", "rst"], docgen.to_rest),
        (["--format", "json"], docgen.to_json_text),
    ],
)
def test_docs_prints_the_reference(
    cli_app: Flask, args: list[str], render: t.Callable[[docgen.Reference], str]
) -> None:
    result = cli_app.test_cli_runner().invoke(args=["apierrors", "docs", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == render(docgen.reference_for_app(cli_app))
    assert "JOB_NOT_FOUND" in result.stdout


@pytest.mark.parametrize("fmt", ["markdown", "json"])
def test_docs_writes_a_file(cli_app: Flask, tmp_path: Path, fmt: str) -> None:
    target = tmp_path / "errors.out"
    runner = cli_app.test_cli_runner()
    result = runner.invoke(args=["apierrors", "docs", "--format", fmt, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"to {target}" in result.stderr
    text = target.read_text(encoding="utf-8")
    reference = docgen.reference_for_app(cli_app)
    expected = docgen.to_json_text(reference) if fmt == "json" else docgen.to_markdown(reference)
    assert text == expected


def test_docs_title_option(cli_app: Flask) -> None:
    result = cli_app.test_cli_runner().invoke(args=["apierrors", "docs", "--title", "Jobs API"])
    assert result.stdout.startswith("# Jobs API\n")


def test_json_lists_every_catalog_code(cli_app: Flask) -> None:
    result = cli_app.test_cli_runner().invoke(args=["apierrors", "docs", "--format", "json"])
    data = json.loads(result.stdout)
    codes = [spec.code for spec in get_state(cli_app).catalog]
    assert sorted(entry["code"] for entry in data["codes"]) == sorted(codes)
    assert [f["blueprint"] for f in data["formats"]] == [None, "images"]


def test_unknown_format_is_refused(cli_app: Flask) -> None:
    result = cli_app.test_cli_runner().invoke(args=["apierrors", "docs", "--format", "html"])
    assert result.exit_code == 2
    assert "'html' is not one of" in result.stderr


def test_group_is_registered_per_app() -> None:
    bare = Flask("bare")
    assert "apierrors" not in bare.cli.commands
    ext = ApiErrors()
    first, second = Flask("first"), Flask("second")
    ext.init_app(first)
    ext.init_app(second)
    assert "apierrors" in first.cli.commands and "apierrors" in second.cli.commands


def test_the_flask_command_runs_it(tmp_path: Path) -> None:
    (tmp_path / "cli_demo_app.py").write_text(
        "from flask import Flask\n"
        "from flask_apierrors import ApiErrors\n"
        "app = Flask('cli_demo')\n"
        "ApiErrors(app, format='error_code')\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "cli_demo_app", "apierrors", "docs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Error Codes and Responses\n")
    assert "#### NOT_FOUND\n" in result.stdout
    assert "cli_demo uses a consistent error response format" in result.stdout


def test_a_format_that_cannot_render_is_one_error_line(make_app: MakeApp) -> None:
    app, ext = make_app()
    ext.catalog.add("job_gone", 410, "Job gone", format="eror")  # misspelt
    result = app.test_cli_runner().invoke(args=["apierrors", "docs"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: Cannot write the error reference: ")
    assert "'eror'" in result.stderr
    assert result.stderr.count("\n") == 1  # one line, no traceback


def test_an_output_file_that_cannot_be_written_is_one_error_line(
    cli_app: Flask, tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "errors.md"
    result = cli_app.test_cli_runner().invoke(args=["apierrors", "docs", "-o", str(target)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr == (
        f"Error: Cannot write the error reference to {str(target)!r}: No such file or directory\n"
    )
