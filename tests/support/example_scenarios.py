"""The states the scenarios of tests/test_example_documented.py put the
example app under gunicorn in, each returning the response that shows the
documented error: a locked database, a folder replaced by a file, maintenance
across the workers, the concurrency limit reached, models unavailable, a
deactivated key, a busy file, a model missing or not ready, and more."""

from __future__ import annotations

import contextlib
import io
import sqlite3
import threading
import time
import typing as t
from pathlib import Path

import requests

from example_app.standin import StandinService
from tests.support.example_server import ADMIN
from tests.support.example_server import PNG
from tests.support.example_server import TIMEOUT
from tests.support.example_server import Server
from tests.support.example_server import batch
from tests.support.example_server import bearer
from tests.support.example_server import chat
from tests.support.example_server import generated
from tests.support.example_server import image_key
from tests.support.example_server import model
from tests.support.example_server import wait_for_file


@contextlib.contextmanager
def replaced_by_a_file(directory: Path) -> t.Iterator[None]:
    """A storage fault: the directory is a plain file for a while."""
    directory.mkdir(parents=True, exist_ok=True)
    saved = directory.with_name(directory.name + ".saved")
    directory.rename(saved)
    directory.write_text("not a directory")
    try:
        yield
    finally:
        directory.unlink()
        saved.rename(directory)


@contextlib.contextmanager
def locked_database(instance: str | Path) -> t.Iterator[None]:
    """Another writer holds the database of the app whose instance folder
    is ``instance``."""
    conn = sqlite3.connect(Path(instance) / "example_app.sqlite3")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def concurrent_limit(server: Server, standin: StandinService) -> requests.Response:
    """Five slow requests of one key in flight (across both workers), then a sixth."""
    key = server.new_user()
    payload = {"query": "simulate:slow", "depth": 3}
    before = standin.searches
    threads = [
        threading.Thread(
            target=lambda: server.request("POST", "/research", json=payload, headers=bearer(key))
        )
        for _ in range(5)
    ]
    with requests.Session() as session:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while standin.searches < before + 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        response = session.post(
            server.url + "/research", json=payload, headers=bearer(key), timeout=TIMEOUT
        )
    for thread in threads:
        thread.join(TIMEOUT)
    return response


def maintenance(server: Server) -> requests.Response:
    """Switched on by the admin route, off by the CLI, across both workers."""
    on = server.request(
        "PUT", "/system/maintenance", json={"minutes": 60}, headers=bearer(server.user)
    )
    assert on.status_code == 200, on.text
    try:
        response = server.request("GET", "/files/x", headers=bearer(server.user))
        image = server.request("GET", "/api/v1/jobs/x", headers=image_key(server.user))
        assert (image.status_code, image.json()["error_code"]) == (503, "SERVICE_UNAVAILABLE")
        assert server.request("GET", "/health").json()["maintenance"] is True
    finally:
        assert "maintenance off" in server.flask("maintenance", "off")
    deadline = time.monotonic() + 5
    while server.request("GET", "/files/x", headers=bearer(server.user)).status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return response


def models_unavailable(server: Server, standin: StandinService) -> requests.Response:
    standin.unavailable_models = ["Melanie-3", "Melanie-3-light"]
    standin.estimated_recovery = "2023-12-01T10:15:00Z"
    try:
        return server.request("POST", "/chat/completions", json=chat(), headers=bearer(ADMIN))
    finally:
        standin.unavailable_models = []


def deactivated(server: Server) -> requests.Response:
    key = server.new_user()
    assert server.request("DELETE", f"/api-keys/{key[:12]}", headers=bearer(key)).ok
    return server.request("GET", f"/api-keys/{key[:12]}", headers=bearer(key))


def upload_file(server: Server, data: bytes, name: str, content_type: str) -> requests.Response:
    files = {"file": (name, io.BytesIO(data), content_type)}
    return server.request("POST", "/files", files=files, headers=bearer(ADMIN))


def too_large(server: Server) -> requests.Response:
    """A body over the limit, on a connection of its own: the server answers
    before reading it, and gunicorn then closes the connection rather than
    drain a large body (though its answer said keep-alive)."""
    return requests.post(
        server.url + "/chat/completions",
        data=b" " * 1048576,
        headers={**bearer(ADMIN), "Content-Type": "application/json", "Connection": "close"},
        timeout=TIMEOUT,
    )


def busy_file(server: Server) -> requests.Response:
    file_id = upload_file(server, b"notes", "notes.txt", "text/plain").json()["id"]
    return server.request("DELETE", f"/files/{file_id}", headers=bearer(ADMIN))


def processing_error(server: Server) -> requests.Response:
    with replaced_by_a_file(server.instance / "uploads"):
        return batch(server, (PNG, "a.png"))


def internal_error(server: Server) -> requests.Response:
    with replaced_by_a_file(server.instance / "models"):
        job_id = generated(server, "a.png")
    return model(server, job_id)


def model_missing(server: Server) -> requests.Response:
    job_id = generated(server, "ok.png")
    assert model(server, job_id).content.startswith(b"glTF")
    (server.instance / "models" / job_id / "file_001.glb").unlink()
    return model(server, job_id)


def not_ready(server: Server) -> requests.Response:
    job_id = batch(server, (PNG, "slow.png")).json()["job_id"]
    wait_for_file(server, job_id, "processing")
    return model(server, job_id)


def database_error(server: Server, path: str) -> requests.Response:
    key = server.new_user()
    with locked_database(server.instance):
        if path == "/api-keys":
            return server.request("POST", path, headers=bearer(ADMIN))
        return batch(server, (PNG, "a.png"), key=key)
