"""The example app refuses a setting that cannot work with one clear line,
and takes the usual spellings of a switch from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from example_app import create_app

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize("value", ["1", "true", "on", "yes"])
def test_maintenance_switched_on_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    monkeypatch.setenv("EXAMPLE_APP_MAINTENANCE", value)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    response = app.test_client().get("/chat/completions")
    assert response.status_code == 503
    assert response.get_json()["error"] == "service_unavailable"


@pytest.mark.slow
def test_gunicorn_stops_with_one_line_for_a_bad_setting(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EXAMPLE_APP_MAINTENANCE": "maybe",
        "EXAMPLE_APP_INSTANCE_PATH": str(tmp_path),
        "EXAMPLE_APP_GENERATION_SERVICE_URL": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "example_app/gunicorn.conf.py",
            "--bind",
            "127.0.0.1:0",
            "example_app.wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("example_app:")]
    assert len(lines) == 1
    assert "APIERRORS_MAINTENANCE='maybe'" in lines[0]
