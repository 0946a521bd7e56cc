"""The example app under real gunicorn, over HTTP, besides the documented
examples: the values they set aside are this run's settings, the documents'
generic body structures, the event stream's error events, generation
retries, the file-name limit, the success paths, and a stream whose client
left freeing its thread."""

from __future__ import annotations

import json
import socket
import struct
import time
import typing as t
from pathlib import Path

import pytest
import requests

from example_app import create_app
from example_app import db
from example_app.standin import StandinService
from example_app.standin import glb
from tests.support import example_server
from tests.support.example_server import ADMIN
from tests.support.example_server import EXAMPLES
from tests.support.example_server import PNG
from tests.support.example_server import Server
from tests.support.example_server import batch
from tests.support.example_server import bearer
from tests.support.example_server import chat
from tests.support.example_server import example_gunicorn
from tests.support.example_server import generated
from tests.support.example_server import image_key
from tests.support.example_server import model
from tests.support.example_server import settings_env

pytestmark = pytest.mark.slow

# The fixtures this module uses, by name (see tests/support/example_server.py).
standin = example_server.standin
main = example_server.main


def _inner(body: dict[str, t.Any]) -> dict[str, t.Any]:
    return t.cast(dict[str, t.Any], body.get("detail", body))


def test_values_set_aside_are_what_this_run_configured(main: Server) -> None:
    timeout = main.request(
        "POST", "/chat/completions", json=chat("simulate:hang"), headers=bearer(ADMIN)
    ).json()
    assert timeout["details"]["timeout_duration"] == 1
    research = main.request(
        "POST", "/research", json={"query": "simulate:slow", "depth": 5}, headers=bearer(ADMIN)
    ).json()
    assert research["details"]["timeout_duration"] == 1
    assert research["details"]["partial_results_available"] is True
    reset = main.request(
        "POST", "/chat/completions", json=chat("simulate:reset"), headers=bearer(ADMIN)
    ).json()
    assert reset["details"]["upstream_error"] == "Connection reset"


@pytest.mark.parametrize(
    ("section", "make"),
    [
        (
            "Error Response Format",
            lambda m: batch(m, (b"BM", "image.bmp")),
        ),
        (
            "Standard Error Structure",
            lambda m: m.request("GET", "/files/file-x", headers=bearer(ADMIN)),
        ),
        (
            "Validation Error Structure",
            lambda m: m.request(
                "POST",
                "/chat/completions",
                json={"model": "invalid-model", "messages": []},
                headers=bearer(ADMIN),
            ),
        ),
    ],
)
def test_documented_body_structure(
    main: Server, section: str, make: t.Callable[[Server], requests.Response]
) -> None:
    """The documents' generic structures: same members, same types."""
    template = next(ex for ex in EXAMPLES if ex["section"].rpartition(" / ")[2] == section)["body"]
    body = make(main).json()
    assert body.keys() - {"correlation_id"} == template.keys()
    for key, value in template.items():
        assert type(body[key]) is type(value)
    if "validation_errors" in template["details"]:
        got = {e["field"]: e for e in body["details"]["validation_errors"]}
        for entry in template["details"]["validation_errors"]:
            assert got[entry["field"]]["invalid_value"] == entry["invalid_value"]
            assert got[entry["field"]]["message"].startswith(entry["message"])


def test_event_stream_error_events(main: Server) -> None:
    """The first document's SSE error event pair, through gunicorn."""
    job_id = batch(main, (PNG, "fail.png")).json()["job_id"]
    response = main.request("GET", f"/api/v1/jobs/{job_id}/stream", headers=image_key(ADMIN))
    assert response.headers["Content-Type"].startswith("text/event-stream")
    blocks = response.text.strip().split("\n\n")
    error, close = blocks[-2].splitlines(), blocks[-1].splitlines()
    assert error[0] == "event: error"
    data = json.loads(error[1].removeprefix("data: "))
    assert data.pop("correlation_id") == response.headers["X-Request-ID"]
    assert data == {
        "code": "PROCESSING_ERROR",
        "message": "Failed to generate model",
        "file_id": "file_001",
    }
    assert close[0] == "event: close"
    assert json.loads(close[1].removeprefix("data: ")) == {"reason": "error"}


def test_generation_is_retried_three_times(main: Server, standin: StandinService) -> None:
    """FAL.AI fails -> retried 3 times -> marked failed (scenario 2)."""
    before = standin.submissions["fail-again.png"]
    job_id = generated(main, "fail-again.png")
    assert standin.submissions["fail-again.png"] - before == 4
    assert model(main, job_id).json()["detail"]["code"] == "FAL_API_ERROR"


def test_a_file_name_over_255_bytes_is_the_clients_error(
    main: Server, standin: StandinService
) -> None:
    """Refused at upload (400), not generated until the service refuses the
    header (a 502 blamed on it); 255 bytes still make a model."""
    uploads = main.instance / "uploads"
    jobs_before = sorted(uploads.glob("*"))
    name = "a" * 100_000 + ".png"
    refused = batch(main, (PNG, "ok.png"), (PNG, name))
    assert refused.status_code == 400, refused.text
    assert refused.json()["details"]["validation_errors"] == [
        {
            "field": "files",
            "message": "File name must be at most 255 bytes (UTF-8)",
            "invalid_value": "a" * 200 + "...[truncated]",
        }
    ]
    assert sorted(uploads.glob("*")) == jobs_before
    assert standin.submissions[name] == 0
    longest = "é" * 125 + "a.png"
    job_id = generated(main, longest)
    assert model(main, job_id).content == glb(longest, PNG)
    assert standin.submissions[longest] == 1


def test_success_paths(main: Server) -> None:
    reply = main.request("POST", "/chat/completions", json=chat(), headers=bearer(main.user))
    assert reply.json()["choices"][0]["message"]["content"] == "Melanie-3: you said Hello"
    stream = main.request(
        "POST", "/chat/completions", json=chat(stream=True), headers=bearer(main.user)
    )
    assert stream.text.rstrip().endswith("data: [DONE]")
    job_id = generated(main, "ok.png")
    assert model(main, job_id).content.startswith(b"glTF")
    document = main.request("GET", "/openapi.json").json()
    assert document["openapi"].startswith("3.1")


def test_a_stream_whose_client_left_frees_its_thread(tmp_path: Path) -> None:
    """A quiet job's stream writes a keep-alive comment every
    STREAM_HEARTBEAT seconds, so a client that left is noticed then: the
    only thread of the worker is free again for the next request."""
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "ADMIN_KEY": ADMIN})
    job_id = "batch_20240315_123456_abc123"
    with app.app_context():
        files = [{"file_id": "file_001", "filename": "a.png", "size": len(PNG)}]
        db.insert_job(db.get_db(), job_id, ADMIN[:12], files)  # queued for good
    env = settings_env(instance, ADMIN_KEY=ADMIN, GENERATION_SERVICE_URL="", STREAM_HEARTBEAT=0.2)
    with example_gunicorn(env, worker_class="gthread", threads=1) as gunicorn:
        sock = socket.create_connection(("127.0.0.1", gunicorn.port), timeout=10)
        try:
            sock.sendall(
                f"GET /api/v1/jobs/{job_id}/stream HTTP/1.1\r\nHost: test\r\n"
                f"X-API-Key: {ADMIN}\r\n\r\n".encode()
            )
            received = b""
            while b": keep-alive\n\n" not in received:
                received += sock.recv(4096)
            assert b"200 OK" in received
        finally:
            # Abort (RST), as a client that crashed or lost its network would.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        started = time.monotonic()
        assert requests.get(gunicorn.url + "/health", timeout=10).status_code == 200
        assert time.monotonic() - started < 3
