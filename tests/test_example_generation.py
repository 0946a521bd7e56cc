"""The example app's image API generating models, in process with the
stand-in generation service: jobs and their models, file names (non-ASCII,
control characters, the 255-byte limit), the service's failures and the
retries, models not ready or missing, other users' jobs, and retrying a file."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from example_app import db
from example_app import generation
from example_app.standin import StandinService
from example_app.standin import glb
from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import PNG
from tests.support.example_inprocess import VOLATILE
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import batch
from tests.support.example_inprocess import call
from tests.support.example_inprocess import normalized
from tests.support.example_inprocess import user_key

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
standin = example_inprocess.standin
generating = example_inprocess.generating


def test_standin_makes_valid_gltf_binaries() -> None:
    model = glb("a.png", PNG)
    assert model[:4] == b"glTF"
    assert int.from_bytes(model[8:12], "little") == len(model)
    assert len(model) % 4 == 0
    chunk_length = int.from_bytes(model[12:16], "little")
    assert json.loads(model[20 : 20 + chunk_length])["extras"]["source"] == "a.png"


def wait_for_file(
    client: FlaskClient, job_id: str, file_id: str, *statuses: str
) -> dict[str, t.Any]:
    deadline = time.monotonic() + 15
    while True:
        job = call(client, "GET", f"/api/v1/jobs/{job_id}", headers={"X-API-Key": ADMIN})
        record = next(f for f in job.get_json()["files"] if f["file_id"] == file_id)
        if record["status"] in statuses:
            return t.cast(dict[str, t.Any], record)
        assert time.monotonic() < deadline, record
        time.sleep(0.05)


def model_of(client: FlaskClient, job_id: str, file_id: str) -> TestResponse:
    path = f"/api/v1/jobs/{job_id}/files/{file_id}/model"
    return call(client, "GET", path, headers={"X-API-Key": ADMIN})


def test_generation(generating: tuple[Flask, FlaskClient], standin: StandinService) -> None:
    app, client = generating
    response = batch(client, (PNG, "ok.png"), (PNG, "two.jpg"))
    assert response.status_code == 202
    job = response.get_json()
    assert settings_job_id(job["job_id"])
    assert job["files"] == [
        {"file_id": "file_001", "filename": "ok.png", "status": "queued"},
        {"file_id": "file_002", "filename": "two.jpg", "status": "queued"},
    ]
    for file_id in ("file_001", "file_002"):
        assert wait_for_file(client, job["job_id"], file_id, "completed", "failed")["status"] == (
            "completed"
        )
    model = model_of(client, job["job_id"], "file_001")
    assert model.status_code == 200
    assert model.mimetype == "model/gltf-binary"
    assert model.data == glb("ok.png", PNG)
    status = call(client, "GET", f"/api/v1/jobs/{job['job_id']}", headers={"X-API-Key": ADMIN})
    assert (status.get_json()["status"], status.get_json()["completed_files"]) == ("completed", 2)
    assert standin.submissions["ok.png"] == 1
    os.remove(generation.model_path(app, job["job_id"], "file_001"))
    assert_example(model_of(client, job["job_id"], "file_001"), "MODELEXCEPTION")


def test_generation_of_a_file_with_a_non_ascii_name(
    generating: tuple[Flask, FlaskClient], standin: StandinService
) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "café ☕.png")).get_json()["job_id"]
    record = wait_for_file(client, job_id, "file_001", "completed", "failed")
    assert (record["status"], record["filename"]) == ("completed", "café ☕.png")
    assert model_of(client, job_id, "file_001").data == glb("café ☕.png", PNG)
    assert standin.submissions["café ☕.png"] == 1


@pytest.mark.parametrize("name", ["a\x00.png", "esc\x1b[31m.png", "tab\t.png", "del\x7f.png"])
def test_a_file_name_with_control_characters_is_refused(
    generating: tuple[Flask, FlaskClient], standin: StandinService, name: str
) -> None:
    _, client = generating
    response = batch(client, (PNG, "ok.png"), (PNG, name))
    body = response.get_json()
    assert (response.status_code, body["error_code"]) == (400, "VALIDATION_ERROR")
    assert body["details"]["validation_errors"] == [
        {
            "field": "files",
            "message": "File name must not contain control characters",
            "invalid_value": name,
        }
    ]
    assert sum(standin.submissions.values()) == 0


#: File names of 256 bytes of UTF-8 and more, and what the refusal echoes of them.
TOO_LONG_NAMES: t.Final = [
    ("a" * 252 + ".png", "a" * 200 + "...[truncated]"),
    ("é" * 126 + ".png", "é" * 126 + ".png"),  # 130 characters, 256 bytes
    ("a" * 100_000 + ".png", "a" * 200 + "...[truncated]"),
]
#: File names of 255 bytes of UTF-8: the longest accepted.
LONGEST_NAMES: t.Final = ["a" * 251 + ".png", "é" * 125 + "a.png", "☕" * 83 + "ab.jpg"]


def stored(app: Flask) -> tuple[list[str], int]:
    """The files under the instance's uploads, and the count of jobs."""
    uploads = Path(app.instance_path, "uploads")
    files = sorted(str(p) for p in uploads.rglob("*")) if uploads.exists() else []
    conn = sqlite3.connect(Path(app.instance_path, "example_app.sqlite3"))
    try:
        (jobs,) = conn.execute("SELECT COUNT(*) FROM jobs").fetchone()
    finally:
        conn.close()
    return files, int(jobs)


@pytest.mark.parametrize(("name", "echoed"), TOO_LONG_NAMES)
def test_a_file_name_over_255_bytes_is_refused_at_upload(
    generating: tuple[Flask, FlaskClient], standin: StandinService, name: str, echoed: str
) -> None:
    app, client = generating
    response = batch(client, (PNG, "ok.png"), (PNG, name))
    body = response.get_json()
    assert response.status_code == 400, body
    assert normalized(body) == {
        "error": True,
        "error_code": "VALIDATION_ERROR",
        "message": "Request validation failed",
        "details": {
            "validation_errors": [
                {
                    "field": "files",
                    "message": "File name must be at most 255 bytes (UTF-8)",
                    "invalid_value": echoed,
                }
            ]
        },
    }
    # Nothing stored, not even the batch's good file; nothing generated.
    assert stored(app) == ([], 0)
    assert sum(standin.submissions.values()) == 0


@pytest.mark.parametrize("name", LONGEST_NAMES)
def test_a_file_name_of_255_bytes_is_generated(
    generating: tuple[Flask, FlaskClient], standin: StandinService, name: str
) -> None:
    assert len(name.encode()) == 255
    _, client = generating
    response = batch(client, (PNG, name))
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    record = wait_for_file(client, job_id, "file_001", "completed", "failed")
    assert (record["status"], record["filename"]) == ("completed", name)
    assert model_of(client, job_id, "file_001").data == glb(name, PNG)
    assert standin.submissions[name] == 1


def settings_job_id(job_id: str) -> bool:
    import re

    return re.fullmatch(r"batch_\d{8}_\d{6}_[0-9a-f]{6}", job_id) is not None


@pytest.mark.parametrize(
    ("filename", "content", "section", "submissions"),
    [
        ("fail.png", PNG, "FAL_API_ERROR", 4),
        ("busy.png", PNG, "FAL_RATE_LIMIT", 1),
        ("garbage.png", PNG, "FALAPIEXCEPTION", 1),
        ("reset.png", PNG, "NETWORKEXCEPTION", 4),
        ("fake.png", b"GIF89a not a png", "PROCESSINGEXCEPTION", 0),
    ],
)
def test_generation_failures(
    generating: tuple[Flask, FlaskClient],
    standin: StandinService,
    filename: str,
    content: bytes,
    section: str,
    submissions: int,
) -> None:
    _, client = generating
    job_id = batch(client, (content, filename)).get_json()["job_id"]
    record = wait_for_file(client, job_id, "file_001", "completed", "failed")
    assert record["status"] == "failed"
    response = model_of(client, job_id, "file_001")
    assert_example(response, section)
    # Retried 3 times, unless the service asked to wait longer than allowed.
    assert standin.submissions[filename] == submissions
    if section == "FAL_RATE_LIMIT":
        assert response.headers["Retry-After"] == "60"


def test_unexpected_generation_failure(generating: tuple[Flask, FlaskClient]) -> None:
    app, client = generating
    Path(app.instance_path, "models").write_text("not a directory")
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    assert wait_for_file(client, job_id, "file_001", "completed", "failed")["status"] == "failed"
    assert_example(model_of(client, job_id, "file_001"), "Correlation IDs")


def test_model_not_ready(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(GENERATION_SERVICE_URL=standin.url, GENERATION_TIMEOUT=0.5, GENERATION_RETRIES=0)
    client = app.test_client()
    job_id = batch(client, (PNG, "slow.png")).get_json()["job_id"]
    wait_for_file(client, job_id, "file_001", "processing")
    body = assert_example(
        model_of(client, job_id, "file_001"), "MODEL_NOT_READY", aside=VOLATILE | {"progress"}
    )
    assert 0 <= body["detail"]["details"]["progress"] < 100
    # Past GENERATION_TIMEOUT the generation gives up.
    assert (
        wait_for_file(client, job_id, "file_001", "failed")["error"]["code"] == "NETWORKEXCEPTION"
    )


def test_file_not_found_in_job(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    body = assert_example(
        model_of(client, job_id, "file_999"), "FILE_NOT_FOUND", aside=VOLATILE | {"job_id"}
    )
    assert body["detail"]["details"]["job_id"] == job_id
    wait_for_file(client, job_id, "file_001", "completed")


def test_other_users_job_is_not_found(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    key = user_key(client)
    response = call(client, "GET", f"/api/v1/jobs/{job_id}", headers={"X-API-Key": key})
    assert response.get_json()["detail"]["code"] == "JOB_NOT_FOUND"
    wait_for_file(client, job_id, "file_001", "completed")


def test_retry(generating: tuple[Flask, FlaskClient], standin: StandinService) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "fail.png"), (PNG, "ok.png")).get_json()["job_id"]
    wait_for_file(client, job_id, "file_001", "failed")
    wait_for_file(client, job_id, "file_002", "completed")
    path = f"/api/v1/jobs/{job_id}/files/file_001/retry"
    response = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert (response.status_code, response.get_json()["status"]) == (202, "queued")
    wait_for_file(client, job_id, "file_001", "failed")
    assert standin.submissions["fail.png"] == 8
    done = call(client, "POST", path.replace("file_001", "file_002"), headers={"X-API-Key": ADMIN})
    assert done.get_json()["error_code"] == "VALIDATION_ERROR"


def test_retry_of_a_generation_whose_worker_stopped(
    generating: tuple[Flask, FlaskClient], standin: StandinService
) -> None:
    app, client = generating
    job_id = batch(client, (PNG, "ok.png")).get_json()["job_id"]
    wait_for_file(client, job_id, "file_001", "completed")
    path = f"/api/v1/jobs/{job_id}/files/file_001/retry"

    def processing_since(updated_at: str) -> None:
        # What a generation whose worker stopped leaves behind.
        with contextlib.closing(sqlite3.connect(db.database_path(app))) as conn, conn:
            conn.execute(
                "UPDATE job_files SET status = 'processing', updated_at = ? WHERE job_id = ?",
                (updated_at, job_id),
            )

    # Recently changed: its generation may still run.
    processing_since(db.utcnow())
    running = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert (running.status_code, running.get_json()["details"]["status"]) == (400, "processing")
    # Unchanged for longer than a generation can take: it is retried.
    processing_since("2000-01-01T00:00:00Z")
    response = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert (response.status_code, response.get_json()["status"]) == (202, "queued")
    assert wait_for_file(client, job_id, "file_001", "completed", "failed")["status"] == "completed"
    assert standin.submissions["ok.png"] == 2
    # Only once: the file is no longer stale.
    again = call(client, "POST", path, headers={"X-API-Key": ADMIN})
    assert again.status_code == 400
