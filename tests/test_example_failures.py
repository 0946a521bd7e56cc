"""The example app when it fails itself, in process: a locked database, a
disk without room (no upload leaves bytes behind), an unexpected exception
(fault injection, off by default); and maintenance mode, from the start, at
run time and from the command line."""

from __future__ import annotations

import contextlib
import os
import resource
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from example_app.standin import StandinService
from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import PNG
from tests.support.example_inprocess import VOLATILE
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import batch
from tests.support.example_inprocess import bearer
from tests.support.example_inprocess import call
from tests.support.example_inprocess import chat_body
from tests.support.example_inprocess import upload
from tests.support.example_inprocess import user_key
from tests.support.example_scenarios import locked_database

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
client = example_inprocess.client
standin = example_inprocess.standin


# -- failures of the app itself ------------------------------------------------------


def test_database_errors(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(DB_TIMEOUT=0.05, GENERATION_SERVICE_URL=standin.url)
    client = app.test_client()
    with locked_database(app.instance_path):
        response = call(client, "POST", "/api-keys", headers=bearer(ADMIN))
        body = assert_example(response, "500 Internal Server Error", "Database Error")
        assert body["details"]["error_id"].startswith("db_err_")
        assert_example(batch(client, (PNG, "a.png")), "DATABASEEXCEPTION")


def stored_uploads(app: Flask) -> list[str]:
    """The uploads on disk: chat files and batch images."""
    found = []
    for folder in ("files", "uploads"):
        for root, _, names in os.walk(os.path.join(app.instance_path, folder)):
            found += [os.path.join(root, name) for name in names]
    return found


@contextlib.contextmanager
def file_size_limit(limit: int) -> t.Iterator[None]:
    """Writes past ``limit`` bytes of a file fail (EFBIG), as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_an_upload_whose_record_fails_leaves_no_bytes_behind(
    make_app: MakeApp, standin: StandinService
) -> None:
    # Bytes without a record are never served nor deleted, and STORAGE_QUOTA
    # (which counts records) would never see them.
    app = make_app(DB_TIMEOUT=0.05, GENERATION_SERVICE_URL=standin.url)
    client = app.test_client()
    with locked_database(app.instance_path):
        chat = upload(client, ADMIN, b"some notes", "notes.txt", "text/plain")
        image = batch(client, (PNG, "a.png"))
    assert (chat.status_code, chat.get_json()["error"]) == (500, "database_error")
    assert (image.status_code, image.get_json()["error_code"]) == (500, "DATABASEEXCEPTION")
    assert stored_uploads(app) == []


def test_an_upload_the_disk_has_no_room_for(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(GENERATION_SERVICE_URL=standin.url)
    client = app.test_client()
    with file_size_limit(64 * 1024):
        chat = upload(client, ADMIN, b"x" * 200_000, "big.txt", "text/plain")
        image = batch(client, (PNG + b"\x00" * 200_000, "a.png"))
    body = chat.get_json()
    # The chat API's storage error, as past STORAGE_QUOTA.
    assert (chat.status_code, body["error"]) == (507, "insufficient_storage")
    assert body["details"] == {"required": 200_000, "available": 64 * 1024}
    assert_example(image, "PROCESSING_ERROR")
    assert stored_uploads(app) == []


@pytest.mark.parametrize(
    ("path", "section", "name"),
    [
        ("/files/x", "500 Internal Server Error", "General Server Error"),
        ("/api/v1/jobs/x", "APIEXCEPTION", None),
    ],
)
def test_unexpected_errors(make_app: MakeApp, path: str, section: str, name: str | None) -> None:
    client = make_app(FAULTS=True).test_client()
    headers = {**bearer(ADMIN), "X-API-Key": ADMIN, "X-Fault": "crash"}
    response = call(client, "GET", path, headers=headers)
    assert_example(response, section, name)
    assert "fault" not in response.get_data(as_text=True)


def test_faults_are_off_by_default(client: FlaskClient) -> None:
    headers = {**bearer(ADMIN), "X-Fault": "crash"}
    assert call(client, "GET", "/files/x", headers=headers).status_code == 404


# -- maintenance -------------------------------------------------------------------


def test_maintenance_from_the_start(make_app: MakeApp) -> None:
    client = make_app(MAINTENANCE=True).test_client()
    chat = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    image = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    assert (chat.status_code, chat.get_json()["error"]) == (503, "service_unavailable")
    assert (image.status_code, image.get_json()["error_code"]) == (503, "SERVICE_UNAVAILABLE")
    health = call(client, "GET", "/health")
    assert (health.status_code, health.get_json()["maintenance"]) == (200, True)


def test_maintenance_at_run_time(client: FlaskClient) -> None:
    key = user_key(client)
    denied = call(client, "PUT", "/system/maintenance", json={}, headers=bearer(key))
    assert denied.status_code == 403
    on = call(client, "PUT", "/system/maintenance", json={"minutes": 60}, headers=bearer(ADMIN))
    assert on.get_json()["enabled"] is True
    response = call(client, "GET", "/files/x", headers=bearer(key))
    body = assert_example(
        response,
        "503 Service Unavailable",
        "Maintenance Mode",
        aside=VOLATILE | {"maintenance_window", "estimated_completion"},
    )
    end = body["details"]["estimated_completion"]
    assert body["details"]["maintenance_window"].endswith(f" to {end}")
    assert 3590 <= int(response.headers["Retry-After"]) <= 3600
    assert call(client, "GET", "/system/maintenance", headers=bearer(ADMIN)).get_json()["enabled"]
    off = call(client, "DELETE", "/system/maintenance", headers=bearer(ADMIN))
    assert off.get_json() == {"enabled": False}
    assert call(client, "GET", "/files/x", headers=bearer(key)).status_code == 404


def test_maintenance_command(make_app: MakeApp) -> None:
    app = make_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["maintenance", "on", "--minutes", "5"]).exit_code == 0
    client = app.test_client()
    assert call(client, "GET", "/files/x", headers=bearer(ADMIN)).status_code == 503
    assert runner.invoke(args=["maintenance", "off"]).exit_code == 0
    assert call(client, "GET", "/files/x", headers=bearer(ADMIN)).status_code == 404
