"""The example app's image API event stream of a job, in process: start,
progress and complete events, the error event pair of a failing job, an
unknown job, and keep-alive comments on a quiet stream."""

from __future__ import annotations

import json
import time
import typing as t

from flask import Flask
from flask.testing import FlaskClient

from example_app import db
from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import PNG
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import batch
from tests.support.example_inprocess import call

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
client = example_inprocess.client
standin = example_inprocess.standin
generating = example_inprocess.generating


def sse(text: str) -> list[tuple[str, dict[str, t.Any]]]:
    """``(event, data)`` pairs of an event stream."""
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def test_stream_of_a_job(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "a.png")).get_json()["job_id"]
    response = call(client, "GET", f"/api/v1/jobs/{job_id}/stream", headers={"X-API-Key": ADMIN})
    events = sse(response.get_data(as_text=True))
    assert events[0] == ("start", {"job_id": job_id})
    assert events[-2] == ("complete", {"job_id": job_id, "status": "completed"})
    assert events[-1] == ("close", {"reason": "complete"})
    assert all(name == "progress" for name, _ in events[1:-2])


def test_stream_of_a_failing_job(generating: tuple[Flask, FlaskClient]) -> None:
    _, client = generating
    job_id = batch(client, (PNG, "fail.png")).get_json()["job_id"]
    response = call(client, "GET", f"/api/v1/jobs/{job_id}/stream", headers={"X-API-Key": ADMIN})
    events = sse(response.get_data(as_text=True))
    name, data = events[-2]
    assert name == "error"
    assert data["correlation_id"] == response.headers["X-Request-ID"]
    del data["correlation_id"]
    assert data == {
        "code": "PROCESSING_ERROR",
        "message": "Failed to generate model",
        "file_id": "file_001",
    }
    assert events[-1] == ("close", {"reason": "error"})


def test_stream_of_an_unknown_job(client: FlaskClient) -> None:
    response = call(client, "GET", "/api/v1/jobs/nope/stream", headers={"X-API-Key": ADMIN})
    assert (response.status_code, response.mimetype) == (404, "application/json")


def queued_job(app: Flask) -> str:
    """A job whose one file stays ``queued``: no generation runs for it."""
    job_id = "batch_20240315_123456_abc123"
    with app.app_context():
        files = [{"file_id": "file_001", "filename": "a.png", "size": len(PNG)}]
        db.insert_job(db.get_db(), job_id, ADMIN[:12], files)
    return job_id


def test_a_quiet_stream_sends_keep_alive_comments(make_app: MakeApp) -> None:
    app = make_app(STREAM_HEARTBEAT=0.1)
    job_id = queued_job(app)
    response = app.test_client().get(
        f"/api/v1/jobs/{job_id}/stream", headers={"X-API-Key": ADMIN}, buffered=False
    )
    try:
        chunks = response.iter_encoded()
        started = time.monotonic()
        received = ""
        while received.count(": keep-alive\n\n") < 2:
            received += next(chunks).decode()
            assert time.monotonic() - started < 5, received
    finally:
        response.close()
    # The start event, the file's progress, then comments only (the file does not change).
    first, rest = received.split(": keep-alive\n\n", 1)
    assert [name for name, _ in sse(first)] == ["start", "progress"]
    assert rest.strip() == ": keep-alive"
