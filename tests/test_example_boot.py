"""The example app refuses a setting that cannot work with one clear line,
takes the usual spellings of a switch from the environment, and runs the
worker class gunicorn is given."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from example_app import create_app
from tests.support.servers import LOOPBACK
from tests.support.servers import GunicornServer
from tests.support.servers import gunicorn_command

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "example_app" / "gunicorn.conf.py"
#: What chooses the worker class and the threads besides the command line.
WORKER_ENVIRONMENT: t.Final = ("GUNICORN_CMD_ARGS", "GUNICORN_THREADS")


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


class ExampleGunicorn(GunicornServer):
    """The example app's gunicorn with ``--bind`` and ``options`` alone on
    its command line: the rest comes from its configuration file and ``env``
    (no other ``EXAMPLE_APP_*`` nor gunicorn variable of the test run)."""

    def __init__(self, options: t.Sequence[str], env: t.Mapping[str, str]) -> None:
        super().__init__("example_app.wsgi:app", config=CONFIG, env=env, health_path="/health")
        self.options = list(options)

    def _argv(self) -> list[str]:
        command = [*gunicorn_command(), "-c", str(self.config), "--bind", f"{LOOPBACK}:{self.port}"]
        return [*command, *self.options, self.app]

    def _environ(self) -> dict[str, str]:
        environ = super()._environ()
        for name in list(environ):
            if name.startswith("EXAMPLE_APP_") or name in WORKER_ENVIRONMENT:
                del environ[name]
        return environ | self.env


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "env", "worker"),
    [
        (["-k", "sync"], {}, "sync"),
        (["--worker-class=sync"], {}, "sync"),
        ([], {"GUNICORN_CMD_ARGS": "-k sync"}, "sync"),
        # The command line wins over GUNICORN_CMD_ARGS, as for gunicorn.
        (["-k", "gthread"], {"GUNICORN_CMD_ARGS": "-k sync"}, "gthread"),
        ([], {}, "gthread"),
        # More threads, asked for: gunicorn's gthread for sync.
        (["-k", "sync"], {"GUNICORN_THREADS": "4"}, "gthread"),
        (["-k", "sync", "--threads", "4"], {}, "gthread"),
    ],
)
def test_gunicorn_runs_the_worker_class_it_is_given(
    tmp_path: Path, options: list[str], env: dict[str, str], worker: str
) -> None:
    env = {
        **env,
        "EXAMPLE_APP_INSTANCE_PATH": str(tmp_path),
        "EXAMPLE_APP_GENERATION_SERVICE_URL": "http://127.0.0.1:9",
    }
    with ExampleGunicorn(options, env) as server:
        log = server.wait_for_log("Using worker: ")
        assert f"Using worker: {worker}\n" in log
        server.wait_for_workers(1)


@pytest.mark.parametrize(
    ("argv", "cmd_args", "threads"),
    [
        (["-k", "sync"], None, 1),
        (["-ksync"], None, 1),
        (["--worker-class", "gunicorn.workers.sync.SyncWorker"], None, 1),
        ([], "--worker-class=sync", 1),
        (["-k", "gthread"], "-k sync", 8),
        ([], None, 8),
        (["-w", "2", "example_app.wsgi:app"], None, 8),
        (["-k", "egg:gunicorn#sync"], None, 1),
        # A program that embeds gunicorn: its own arguments are not gunicorn's.
        (["--workers", "auto"], None, 8),
        (["--workers", "auto"], "-k sync", 1),
    ],
)
def test_gunicorn_configuration_gives_the_sync_worker_one_thread(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], cmd_args: str | None, threads: int
) -> None:
    for name in WORKER_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    if cmd_args is not None:
        monkeypatch.setenv("GUNICORN_CMD_ARGS", cmd_args)
    monkeypatch.setattr(sys, "argv", ["gunicorn", "-c", str(CONFIG), *argv])
    # The name gunicorn gives its configuration module.
    conf = runpy.run_path(str(CONFIG), run_name="__config__")
    assert (conf["worker_class"], conf["threads"]) == ("gthread", threads)
    monkeypatch.setenv("GUNICORN_THREADS", "3")
    conf = runpy.run_path(str(CONFIG), run_name="__config__")
    assert conf["threads"] == 3
