"""assert_api_error on live gunicorn responses, and the pytest plugin's fixture."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import typing as t
from pathlib import Path

import httpx
import pytest
import requests

from flask_apierrors.testing import assert_api_error

from .support.servers import GunicornServer


@pytest.fixture(scope="module")
def live_url() -> t.Iterator[str]:
    with GunicornServer("tests.apps.client_app:app", health_path="/error/ok") as server:
        yield server.url


@pytest.mark.slow
@pytest.mark.parametrize("lib", ["requests", "httpx"])
@pytest.mark.parametrize(("fmt", "code"), [("error", "not_found"), ("detail", "NOT_FOUND")])
def test_live_responses_are_checked_against_the_app(
    live_url: str, lib: str, fmt: str, code: str
) -> None:
    from tests.apps.client_app import create_app

    app = create_app()
    url = f"{live_url}/{fmt}/jobs/j1"
    if lib == "requests":
        with requests.get(url, timeout=10) as response:
            error = assert_api_error(response, code, app=app)
    else:
        with httpx.Client(timeout=10) as c:
            error = assert_api_error(c.get(url), code, app=app)
    assert error.code == code and error.details == {"job_id": "j1"}


def test_pytest_plugin_fixture(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from flask import Flask
            from flask_apierrors import ApiErrors

            pytest_plugins = ["flask_apierrors.testing"]


            @pytest.fixture
            def app():
                app = Flask("plugin_app")
                ApiErrors(app, format="detail")
                return app
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "test_plugin.py").write_text(
        textwrap.dedent(
            """
            import pytest


            def test_ok(app, assert_api_error):
                error = assert_api_error(app.test_client().get("/nope"), "not_found")
                assert error.code == "NOT_FOUND"


            def test_fails(app, assert_api_error):
                with pytest.raises(AssertionError, match="status is 404, expected 405"):
                    assert_api_error(app.test_client().get("/nope"), "method_not_allowed")
            """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path,
        # Only the plugin under test (and pytest's own): faster, and isolated.
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
