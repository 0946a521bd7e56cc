"""The example app's database set-up when several gunicorn workers boot at
once on a new instance folder: SQLite may answer "database is locked" at once
to one of them (a lock upgrade that would deadlock is refused without the
busy timeout); that worker tries again instead of failing its boot, which
took gunicorn's master down with it."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from example_app import create_app
from example_app import db
from tests.support.servers import REPO_ROOT


def _app(instance: Path, timeout: float = 5.0) -> Flask:
    app = Flask("example-db", instance_path=str(instance))
    app.config["DB_TIMEOUT"] = timeout
    return app


def _flaky_connect(monkeypatch: pytest.MonkeyPatch, failures: int, error: str) -> list[int]:
    """``db.connect``, failing the first ``failures`` set-ups with ``error``."""
    real = db.connect
    calls: list[int] = []

    class Refusing:
        def execute(self, sql: str) -> t.Any:
            raise sqlite3.OperationalError(error)

        def close(self) -> None:
            pass

    def connect(app: Flask) -> t.Any:
        calls.append(1)
        return Refusing() if len(calls) <= failures else real(app)

    monkeypatch.setattr(db, "connect", connect)
    return calls


def _mode_and_tables(instance: Path) -> tuple[str, set[str]]:
    with contextlib.closing(sqlite3.connect(instance / "example_app.sqlite3")) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    return mode, tables


def test_a_locked_database_is_tried_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = _flaky_connect(monkeypatch, 3, "database is locked")
    db.init_db(_app(tmp_path))
    assert len(calls) == 4
    mode, tables = _mode_and_tables(tmp_path)
    assert mode == "wal"
    assert {"api_keys", "files"} <= tables


def test_other_errors_and_a_lock_past_the_timeout_still_fail(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _flaky_connect(monkeypatch, 1, "disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        db.init_db(_app(tmp_path))
    assert len(calls) == 1
    calls = _flaky_connect(monkeypatch, 10_000, "database is locked")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        db.init_db(_app(tmp_path, timeout=0.3))
    assert time.monotonic() - started < 2.0
    assert 1 < len(calls) < 100


_BOOT = """
import sys, time
from flask import Flask
from example_app import db
app = Flask("w", instance_path=sys.argv[1])
app.config["DB_TIMEOUT"] = 5.0
start = float(sys.argv[2])
while time.time() < start:
    pass
db.init_db(app)
"""


@pytest.mark.slow
def test_workers_booting_together_set_up_one_database(tmp_path: Path) -> None:
    for round_ in range(3):
        instance = tmp_path / f"instance-{round_}"
        start = time.time() + 1.5  # every process imported and spinning by then
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(instance), str(start)],
                cwd=REPO_ROOT,
                env=env,
                stderr=subprocess.PIPE,
            )
            for _ in range(6)
        ]
        errors = [w.communicate(timeout=60)[1].decode() for w in workers]
        assert [w.returncode for w in workers] == [0] * 6, errors
        mode, tables = _mode_and_tables(instance)
        assert mode == "wal" and {"api_keys", "files"} <= tables


@pytest.mark.parametrize("how", ["instance folder deleted", "database path is a directory"])
def test_a_database_that_cannot_be_opened_is_a_database_error(tmp_path: Path, how: str) -> None:
    admin = "mel_" + "A" * 32
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "ADMIN_KEY": admin})
    shutil.rmtree(instance)
    if how == "database path is a directory":
        (instance / "example_app.sqlite3").mkdir(parents=True)
    client = app.test_client()

    chat = client.post("/api-keys", headers={"Authorization": f"Bearer {admin}"})
    body = chat.get_json()
    assert (chat.status_code, body["error"]) == (500, "database_error")
    assert (body["details"]["operation"], body["details"]["table"]) == ("connect", "database")
    assert body["details"]["error_id"].startswith("db_err_")

    image = client.get("/api/v1/jobs/x", headers={"X-API-Key": admin})
    body = image.get_json()
    assert (image.status_code, body["error_code"]) == (500, "DATABASEEXCEPTION")


def test_an_expected_update_changes_a_file_once(tmp_path: Path) -> None:
    """Two requests retrying the same file read the same row: one requeues it."""
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        conn = db.get_db()
        db.insert_job(conn, "job", "owner", [{"file_id": "f", "filename": "a.png", "size": 1}])
        db.update_job_file(conn, "job", "f", status="failed")
        read = db.job_file(conn, "job", "f")
        assert read is not None
        expect = {"status": read["status"], "updated_at": read["updated_at"]}
        assert db.update_job_file(conn, "job", "f", expect=expect, status="queued")
        assert not db.update_job_file(conn, "job", "f", expect=expect, status="queued")
        after = db.job_file(conn, "job", "f")
        assert after is not None and after["status"] == "queued"
