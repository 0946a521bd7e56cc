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
@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("MAINTENANCE", "maybe", "APIERRORS_MAINTENANCE='maybe'"),
        ("CHAT_RATE_LIMIT", "lots per fortnight", "EXAMPLE_APP_CHAT_RATE_LIMIT"),
        ("MAX_JSON_BYTES", "1e400", "EXAMPLE_APP_MAX_JSON_BYTES"),
        ("STORAGE_QUOTA", "NaN", "EXAMPLE_APP_STORAGE_QUOTA"),
        ("MODEL_SERVICE_URL", "not a url", "EXAMPLE_APP_MODEL_SERVICE_URL"),
        ("INSTANCE_PATH", "/proc/example-app", "EXAMPLE_APP_INSTANCE_PATH"),
    ],
)
def test_gunicorn_stops_with_one_line_for_a_bad_setting(
    tmp_path: Path, name: str, value: str, named: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EXAMPLE_APP_")},
        "EXAMPLE_APP_INSTANCE_PATH": str(tmp_path),
        "EXAMPLE_APP_GENERATION_SERVICE_URL": "http://127.0.0.1:9",
        f"EXAMPLE_APP_{name}": value,
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
    assert named in lines[0]


@pytest.mark.parametrize("value", ["abc", "", "-1"])
def test_run_script_stops_with_one_line_for_a_bad_worker_count(value: str) -> None:
    # gunicorn itself fails on such a WEB_CONCURRENCY before it reads its configuration.
    result = subprocess.run(
        ["bash", "scripts/run.sh"],
        cwd=ROOT,
        env={**os.environ, "WEB_CONCURRENCY": value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"example_app: WEB_CONCURRENCY must be a whole number from 1 to 1024, not '{value}'."
    ]
