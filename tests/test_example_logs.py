"""The example app's logs: one line shape for the app, flask-apierrors and
gunicorn; expected outcomes a client causes below ERROR; gunicorn writing no
file outside the instance folder."""

from __future__ import annotations

import logging
import logging.config
import os
import re
import time
import typing as t
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from gunicorn.config import Config as GunicornConfig

from example_app import create_app
from example_app import generation
from example_app.logs import logging_config
from example_app.standin import StandinService
from tests.support.servers import GunicornServer

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "example_app" / "gunicorn.conf.py"
ADMIN: t.Final = "mel_" + "L" * 32
PNG: t.Final = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BOUNDARY: t.Final = "logs-boundary-5c1f"

#: time, level, logger, [correlation id, error id], message.
LINE: t.Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<level>[A-Z]+) (?P<logger>[\w.]+)"
    r" \[(?P<cid>req_[0-9a-f]{16}|-) (?P<eid>err_[0-9a-f]+|-)\] (?P<message>.*)"
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EXAMPLE_APP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def configured() -> t.Iterator[None]:
    """:func:`logging_config` applied, as gunicorn applies it; undone after."""
    names = ("", "gunicorn.error", "gunicorn.access")
    saved = [
        (logger, logger.handlers[:], logger.level, logger.propagate)
        for logger in map(logging.getLogger, names)
    ]
    logging.config.dictConfig(logging_config())
    try:
        yield
    finally:
        for logger, handlers, level, propagate in saved:
            for handler in logger.handlers[:]:
                logger.removeHandler(handler)
            for handler in handlers:
                logger.addHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def upload(client: FlaskClient, filename: str) -> t.Any:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"'
        "\r\nContent-Type: image/png\r\n\r\n"
    )
    body = head.encode() + PNG + f"\r\n--{BOUNDARY}--\r\n".encode()
    return client.post(
        "/api/v1/batch/upload",
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers={"X-API-Key": ADMIN},
    )


def test_app_lines_carry_time_level_logger_and_ids(
    configured: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ADMIN_KEY": ADMIN, "FAULTS": True})
    logging.config.dictConfig(logging_config())  # onto the stream capsys captures
    client = app.test_client()
    capsys.readouterr()
    # No generation service: the app logs why, the extension logs the 500.
    misconfigured = upload(client, "a.png")
    assert misconfigured.get_json()["error_code"] == "CONFIGURATIONEXCEPTION"
    lines = capsys.readouterr().err.splitlines()
    parsed = [m for m in map(LINE.fullmatch, lines) if m]
    assert [(m["level"], m["logger"], m["cid"], m["eid"]) for m in parsed] == [
        ("ERROR", "example_app", misconfigured.headers["X-Request-ID"], "-")
    ] * 2, lines
    # The extension's line comes with the traceback of the 500 it rendered.
    assert LINE.fullmatch(lines[1]) and lines[2] == "Traceback (most recent call last):", lines

    # A bug: Flask's line of the traceback has the ids of the 500 body.
    crash = client.post(
        "/chat/completions",
        json={"model": "Melanie-3", "messages": [{"role": "user", "content": "Hi"}]},
        headers={"Authorization": f"Bearer {ADMIN}", "X-Fault": "crash"},
    )
    body = crash.get_json()
    assert crash.status_code == 500
    first, *traceback = capsys.readouterr().err.splitlines()
    line = LINE.fullmatch(first)
    assert line is not None, first
    assert (line["level"], line["cid"], line["eid"]) == (
        "ERROR",
        body["correlation_id"],
        body["details"]["error_id"],
    )
    assert traceback[0] == "Traceback (most recent call last):"


def test_gunicorn_access_lines_carry_the_response_correlation_id(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.config.dictConfig(logging_config())
    capsys.readouterr()
    atoms = {"r": "GET /health HTTP/1.1", "s": "200", "{x-request-id}o": "req_0123456789abcdef"}
    logging.getLogger("gunicorn.access").info('"%(r)s" %(s)s', atoms)
    logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 42)
    out, err = capsys.readouterr()
    access = LINE.fullmatch(out.strip())
    assert access is not None, out
    assert (access["logger"], access["cid"], access["eid"]) == (
        "gunicorn.access",
        "req_0123456789abcdef",
        "-",
    )
    assert access["message"] == '"GET /health HTTP/1.1" 200'
    error = LINE.fullmatch(err.strip())
    assert error is not None and (error["logger"], error["cid"]) == ("gunicorn.error", "-"), err


@pytest.fixture
def failed_model(tmp_path: Path) -> t.Iterator[tuple[Flask, str]]:
    """An app and a job whose one file failed to generate: the service
    answered 500, the file's model answers ``FAL_API_ERROR``."""
    with StandinService(work_seconds=0.05) as standin:
        app = create_app(
            {
                "INSTANCE_PATH": str(tmp_path),
                "ADMIN_KEY": ADMIN,
                "GENERATION_SERVICE_URL": standin.url,
                "GENERATION_RETRIES": 0,
            }
        )
        client = app.test_client()
        job_id = upload(client, "fail.png").get_json()["job_id"]
        assert generation.wait_idle(20)
        job = client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": ADMIN}).get_json()
        assert job["files"][0]["status"] == "failed"
        yield app, job_id


def test_reading_a_failed_model_again_is_not_an_error(
    failed_model: tuple[Flask, str], caplog: pytest.LogCaptureFixture
) -> None:
    app, job_id = failed_model
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    for _ in range(2):
        response = client.get(
            f"/api/v1/jobs/{job_id}/files/file_001/model", headers={"X-API-Key": ADMIN}
        )
        body = response.get_json()
        # The 5xx the generation left (the docs pin its status and body).
        assert response.status_code >= 500 and body["detail"]["code"] == "FAL_API_ERROR"
        assert body["detail"]["correlation_id"] == response.headers["X-Request-ID"]
    stream = client.get(f"/api/v1/jobs/{job_id}/stream", headers={"X-API-Key": ADMIN})
    text = stream.get_data(as_text=True)
    assert "\nevent: error\n" in text
    assert text.endswith('event: close\ndata: {"reason":"error"}\n\n')

    assert [r.levelname for r in caplog.records] == ["INFO", "INFO", "INFO"]
    assert "FAL_API_ERROR" in caplog.records[0].getMessage()


def test_generation_lines_carry_the_upload_correlation_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with StandinService(work_seconds=0.05) as standin:
        app = create_app(
            {
                "INSTANCE_PATH": str(tmp_path),
                "ADMIN_KEY": ADMIN,
                "GENERATION_SERVICE_URL": standin.url,
                "GENERATION_RETRIES": 0,
            }
        )
        response = upload(app.test_client(), "fail.png")
        assert generation.wait_idle(20)
    (record,) = [r for r in caplog.records if r.getMessage().startswith("Generation of")]
    assert record.levelname == "WARNING"
    assert record.__dict__["correlation_id"] == response.headers["X-Request-ID"]


def test_gunicorn_config_opens_no_control_socket() -> None:
    config = GunicornConfig()
    namespace: dict[str, t.Any] = {"__file__": str(CONFIG)}
    exec(compile(CONFIG.read_text(encoding="utf-8"), str(CONFIG), "exec"), namespace)
    assert namespace["control_socket_disable"] is True
    for name in ("control_socket_disable", "logconfig_dict", "accesslog", "errorlog"):
        config.set(name, namespace[name])
    assert config.control_socket_disable
    assert config.logconfig_dict == logging_config()
    assert config.pidfile is None


class RunShGunicorn(GunicornServer):
    """gunicorn as scripts/run.sh starts it: the settings come from the
    config file alone (the test servers otherwise add ``--no-control-socket``)."""

    def _argv(self) -> list[str]:
        return [arg for arg in super()._argv() if arg != "--no-control-socket"]


@pytest.mark.slow
def test_under_gunicorn_every_line_has_the_shape_and_no_file_is_written_outside(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMPLE_APP_")}
    env.pop("XDG_RUNTIME_DIR", None)
    env |= {"HOME": str(home), "EXAMPLE_APP_INSTANCE_PATH": str(instance)}
    with RunShGunicorn(
        "example_app.wsgi:app",
        worker_class="gthread",
        threads=4,
        config=CONFIG,
        env=env,
        health_path="/health",
    ) as server:
        missing = requests.get(server.url + "/no/such/endpoint", timeout=10)
        assert missing.status_code == 404
        deadline = time.monotonic() + 10
        while missing.headers["X-Request-ID"] not in server.log_text():
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.05)
    log = server.log_text()
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines and [line for line in lines if not LINE.fullmatch(line)] == [], log
    loggers = {m["logger"] for m in map(LINE.fullmatch, lines) if m}
    assert {"gunicorn.error", "gunicorn.access"} <= loggers
    assert any(missing.headers["X-Request-ID"] in line for line in lines)
    # Nothing in $HOME (gunicorn's control socket), the data in the instance folder.
    assert list(home.iterdir()) == []
    assert (instance / "example_app.sqlite3").is_file()
