"""The example app under real gunicorn (2 workers, gthread), over HTTP.

Every error example of both documented APIs (tests/data/seed_examples.json)
is reached and compared with the answer: status, headers and body, values
that depend on time or ids and the ``correlation_id`` member aside. Rate and
concurrency limits are shared by the workers through a real Redis.

Two servers: ``main`` (admin key, stand-in services, fault injection on) and
``fresh`` (a new install: no key yet, no generation service, a tiny storage
quota). The documented APIs' own client code is run against them unchanged.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

import pytest
import requests

from example_app import create_app
from example_app import db
from example_app.standin import StandinService
from example_app.standin import glb
from tests.support.seeds import seed_examples
from tests.support.servers import GunicornServer
from tests.support.servers import RedisServer

pytestmark = pytest.mark.slow

EXAMPLES = seed_examples()
REPO = Path(__file__).parents[1]
CONFIG = REPO / "example_app" / "gunicorn.conf.py"

ADMIN: t.Final = "mel_" + "E2e" * 10 + "AB"
PNG: t.Final = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
BAD_JSON: t.Final = '{\n  "model": "Melanie-3", "stream": true\n    "messages": []\n}'
TIMEOUT: t.Final = 30
#: Values that depend on time, ids or this run's settings.
VOLATILE: t.Final = frozenset(
    {
        "timestamp",
        "error_id",
        "key_id",
        "your_key",
        "deactivated_at",
        "reset_at",
        "retry_after",
        "api_key",
        "job_id",
        "progress",
        "timeout_duration",
        "upstream_error",
        "maintenance_window",
        "estimated_completion",
    }
)


# -- servers ------------------------------------------------------------------------


class Server:
    """A running example app and what the tests need to know about it."""

    def __init__(self, gunicorn: GunicornServer, instance: Path, env: dict[str, str]) -> None:
        self.gunicorn = gunicorn
        self.url = gunicorn.url
        self.instance = instance
        self.env = env
        self.http = requests.Session()
        self.user = ""
        self.first: requests.Response | None = None
        self.workers: list[int] = []

    def request(self, method: str, path: str, **kwargs: t.Any) -> requests.Response:
        kwargs.setdefault("timeout", TIMEOUT)
        return self.http.request(method, self.url + path, **kwargs)

    def flask(self, *args: str) -> str:
        """Run a ``flask`` command of the app with the server's settings."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "example_app", *args],
            cwd=REPO,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def new_user(self) -> str:
        response = self.request("POST", "/api-keys", headers=bearer(ADMIN))
        assert response.status_code == 201, response.text
        return str(response.json()["api_key"])


def _env(instance: Path, **settings: t.Any) -> dict[str, str]:
    env = {"EXAMPLE_APP_INSTANCE_PATH": str(instance)}
    for name, value in settings.items():
        env[f"EXAMPLE_APP_{name}"] = value if isinstance(value, str) else json.dumps(value)
    return env


@contextlib.contextmanager
def _serve(env: dict[str, str], instance: Path) -> t.Iterator[Server]:
    with GunicornServer(
        "example_app.wsgi:app",
        workers=2,
        worker_class="gthread",
        threads=8,
        config=CONFIG,
        env={k: v for k, v in os.environ.items() if not k.startswith("EXAMPLE_APP_")} | env,
        health_path="/health",
    ) as gunicorn:
        server = Server(gunicorn, instance, env)
        server.workers = gunicorn.wait_for_workers(2)
        try:
            yield server
        finally:
            server.http.close()


@pytest.fixture(scope="module")
def standin() -> t.Iterator[StandinService]:
    with StandinService(work_seconds=0.1, slow_seconds=60, slow_search_seconds=0.25) as s:
        yield s


@pytest.fixture(scope="module")
def main(standin: StandinService, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Server]:
    instance = tmp_path_factory.mktemp("main") / "instance"
    with RedisServer() as redis:
        env = _env(
            instance,
            ADMIN_KEY=ADMIN,
            RATELIMIT_STORAGE_URI=redis.url,
            MODEL_SERVICE_URL=standin.url,
            SEARCH_SERVICE_URL=standin.url,
            GENERATION_SERVICE_URL=standin.url,
            UPSTREAM_TIMEOUT=1,
            RESEARCH_TIMEOUT=1,
            DB_TIMEOUT=0.2,
            FILE_PROCESSING_SECONDS=60,
            GENERATION_BACKOFF=0.05,
            GENERATION_MAX_TIME=5,
            FAULTS=True,
        )
        with _serve(env, instance) as server:
            server.user = server.new_user()
            yield server


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Server]:
    """A new install: the first request comes before any key exists."""
    instance = tmp_path_factory.mktemp("fresh") / "instance"
    env = _env(instance, GENERATION_SERVICE_URL="", STORAGE_QUOTA=524288)
    with _serve(env, instance) as server:
        server.first = server.request("GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
        keys = [w for w in server.flask("create-keys").split() if w.startswith("mel_")]
        server.user = keys[0]  # an admin key, created by the CLI
        yield server


# -- helpers ------------------------------------------------------------------------


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def image_key(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


def chat(message: str = "Hello", **extra: t.Any) -> dict[str, t.Any]:
    return {"model": "Melanie-3", "messages": [{"role": "user", "content": message}], **extra}


#: The key each job was uploaded with: the image API allows 60 requests a
#: minute per key, so every job gets a key of its own.
JOB_KEYS: dict[str, str] = {}


def batch(server: Server, *files: tuple[bytes, str], key: str | None = None) -> requests.Response:
    key = key or server.new_user()
    parts = [("files", (name, io.BytesIO(data), "image/png")) for data, name in files]
    response = server.request("POST", "/api/v1/batch/upload", files=parts, headers=image_key(key))
    if response.status_code == 202:
        JOB_KEYS[response.json()["job_id"]] = key
    return response


def wait_for_file(server: Server, job_id: str, *statuses: str) -> dict[str, t.Any]:
    """Follow the job's event stream until its first file reaches a status."""
    path = f"/api/v1/jobs/{job_id}/stream"
    with server.request("GET", path, headers=image_key(JOB_KEYS[job_id]), stream=True) as stream:
        assert stream.status_code == 200, stream.text
        event = ""
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "progress":
                record = json.loads(line[6:])
                if record["file_id"] == "file_001" and record["status"] in statuses:
                    return t.cast(dict[str, t.Any], record)
    raise AssertionError(f"the stream of {job_id} ended before {statuses}")


def generated(server: Server, filename: str, content: bytes = PNG) -> str:
    """Upload one image, wait until its generation ended; the job id."""
    response = batch(server, (content, filename))
    assert response.status_code == 202, response.text
    job_id = str(response.json()["job_id"])
    wait_for_file(server, job_id, "completed", "failed")
    return job_id


def model(server: Server, job_id: str, file_id: str = "file_001") -> requests.Response:
    path = f"/api/v1/jobs/{job_id}/files/{file_id}/model"
    return server.request("GET", path, headers=image_key(JOB_KEYS[job_id]))


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
def locked_database(server: Server) -> t.Iterator[None]:
    """Another writer holds the database."""
    conn = sqlite3.connect(server.instance / "example_app.sqlite3")
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.rollback()
        conn.close()


def exhaust(server: Server, path: str, headers: dict[str, str], limit: int) -> requests.Response:
    """``limit`` requests, then the one over the limit."""
    for _ in range(limit):
        assert server.request("GET", path, headers=headers).status_code != 429
    return server.request("GET", path, headers=headers)


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
    with locked_database(server):
        if path == "/api-keys":
            return server.request("POST", path, headers=bearer(ADMIN))
        return batch(server, (PNG, "a.png"), key=key)


Scenario = t.Callable[[Server, Server, StandinService], requests.Response]
A = "000_9abd21ed7a3d8723.txt"
B = "003_4b0123b35f9584e7.txt"

#: How each documented example is produced, by (document, last part of its
#: section, example name).
SCENARIOS: dict[tuple[str, str, str | None], Scenario] = {
    (A, "AUTHENTICATION_REQUIRED", None): lambda m, f, s: t.cast(requests.Response, f.first),
    (A, "INVALID_API_KEY", None): lambda m, f, s: m.request(
        "GET", "/api/v1/jobs/x", headers=image_key("mel_" + "Z" * 32)
    ),
    (A, "INSUFFICIENT_PERMISSIONS", None): lambda m, f, s: m.request(
        "GET", "/api/v1/admin/stats", headers=image_key(m.user)
    ),
    (A, "VALIDATION_ERROR", None): lambda m, f, s: batch(m, (b"BM", "image.bmp")),
    (A, "FILE_TOO_LARGE", None): lambda m, f, s: batch(m, (b"x" * 15728640, "big.png")),
    (A, "TOO_MANY_FILES", None): lambda m, f, s: batch(m, *[(PNG, f"{i}.png") for i in range(30)]),
    (A, "INVALID_JOB_ID", None): lambda m, f, s: m.request(
        "GET", "/api/v1/jobs/invalid@id", headers=image_key(ADMIN)
    ),
    (A, "JOB_NOT_FOUND", None): lambda m, f, s: m.request(
        "GET", "/api/v1/jobs/batch_20240315_123456_abc123", headers=image_key(ADMIN)
    ),
    (A, "FILE_NOT_FOUND", None): lambda m, f, s: model(m, generated(m, "a.png"), "file_999"),
    (A, "MODEL_NOT_READY", None): lambda m, f, s: not_ready(m),
    (A, "RATE_LIMIT_EXCEEDED", None): lambda m, f, s: exhaust(
        m, "/api/v1/jobs/x", image_key(m.new_user()), 60
    ),
    (A, "PROCESSING_ERROR", None): lambda m, f, s: processing_error(m),
    (A, "FAL_API_ERROR", None): lambda m, f, s: model(m, generated(m, "fail.png")),
    (A, "FAL_RATE_LIMIT", None): lambda m, f, s: model(m, generated(m, "busy.png")),
    (A, "STORAGE_ERROR", None): lambda m, f, s: batch(f, (b"x" * 1048576, "a.png"), key=f.user),
    (A, "APIEXCEPTION", None): lambda m, f, s: m.request(
        "GET", "/api/v1/jobs/x", headers={**image_key(ADMIN), "X-Fault": "crash"}
    ),
    (A, "FALAPIEXCEPTION", None): lambda m, f, s: model(m, generated(m, "garbage.png")),
    (A, "DATABASEEXCEPTION", None): lambda m, f, s: database_error(m, "/api/v1/batch/upload"),
    (A, "PROCESSINGEXCEPTION", None): lambda m, f, s: model(m, generated(m, "fake.png", b"GIF8")),
    (A, "NETWORKEXCEPTION", None): lambda m, f, s: model(m, generated(m, "reset.png")),
    (A, "MODELEXCEPTION", None): lambda m, f, s: model_missing(m),
    (A, "CONFIGURATIONEXCEPTION", None): lambda m, f, s: batch(f, (PNG, "a.png"), key=f.user),
    (A, "Correlation IDs", None): lambda m, f, s: internal_error(m),
    (B, "201 Created", "Example"): lambda m, f, s: m.request(
        "POST", "/api-keys", headers=bearer(ADMIN)
    ),
    (B, "400 Bad Request", "Invalid JSON"): lambda m, f, s: m.request(
        "POST",
        "/chat/completions",
        data=BAD_JSON,
        headers={**bearer(ADMIN), "Content-Type": "application/json"},
    ),
    (B, "400 Bad Request", "Missing Required Field"): lambda m, f, s: m.request(
        "POST", "/chat/completions", json={"messages": chat()["messages"]}, headers=bearer(ADMIN)
    ),
    (B, "400 Bad Request", "Invalid Model"): lambda m, f, s: m.request(
        "POST", "/chat/completions", json={**chat(), "model": "gpt-4"}, headers=bearer(ADMIN)
    ),
    (B, "400 Bad Request", "Invalid Message Content"): lambda m, f, s: m.request(
        "POST", "/chat/completions", json=chat(""), headers=bearer(ADMIN)
    ),
    (B, "401 Unauthorized", "Missing Authorization Header"): lambda m, f, s: m.request(
        "GET", "/api-keys/mel_abcdef12"
    ),
    (B, "401 Unauthorized", "Invalid API Key Format"): lambda m, f, s: m.request(
        "GET", "/api-keys/mel_abcdef12", headers=bearer("invalid_key")
    ),
    (B, "401 Unauthorized", "API Key Not Found"): lambda m, f, s: m.request(
        "GET", "/api-keys/mel_abcdef12", headers=bearer("mel_invalid12" + "x" * 23)
    ),
    (B, "401 Unauthorized", "Deactivated API Key"): lambda m, f, s: deactivated(m),
    (B, "403 Forbidden", "Accessing Another User's Key"): lambda m, f, s: m.request(
        "GET", "/api-keys/mel_other123", headers=bearer(m.user)
    ),
    (B, "403 Forbidden", "Operation Not Allowed"): lambda m, f, s: m.request(
        "DELETE", "/system/config", headers=bearer(ADMIN)
    ),
    (B, "404 Not Found", "Invalid Endpoint"): lambda m, f, s: m.request("GET", "/invalid/endpoint"),
    (B, "404 Not Found", "API Key Not Found"): lambda m, f, s: m.request(
        "GET", "/api-keys/mel_notfound", headers=bearer(ADMIN)
    ),
    (B, "404 Not Found", "File Not Found"): lambda m, f, s: m.request(
        "GET", "/files/file-nonexistent", headers=bearer(ADMIN)
    ),
    (B, "413 Payload Too Large", "File Too Large"): lambda m, f, s: upload_file(
        m, b"x" * 52428800, "big.txt", "text/plain"
    ),
    (B, "413 Payload Too Large", "Request Body Too Large"): lambda m, f, s: too_large(m),
    (B, "415 Unsupported Media Type", "Invalid Content Type"): lambda m, f, s: m.request(
        "POST",
        "/chat/completions",
        data="hello",
        headers={**bearer(ADMIN), "Content-Type": "text/plain"},
    ),
    (B, "415 Unsupported Media Type", "Unsupported File Type"): lambda m, f, s: upload_file(
        m, b"MZ", "setup.exe", "application/exe"
    ),
    (B, "422 Unprocessable Entity", "Conflicting Parameters"): lambda m, f, s: m.request(
        "POST",
        "/chat/completions",
        json={**chat(), "model": "Melanie-3-code", "tools": [{"type": "x"}], "web_search": False},
        headers=bearer(ADMIN),
    ),
    (B, "422 Unprocessable Entity", "Invalid State"): lambda m, f, s: busy_file(m),
    (B, "429 Too Many Requests", "Rate Limit Exceeded"): lambda m, f, s: exhaust(
        m, "/files/x", bearer(m.new_user()), 100
    ),
    (B, "429 Too Many Requests", "Concurrent Limit Exceeded"): lambda m, f, s: concurrent_limit(
        m, s
    ),
    (B, "500 Internal Server Error", "General Server Error"): lambda m, f, s: m.request(
        "GET", "/files/x", headers={**bearer(ADMIN), "X-Fault": "crash"}
    ),
    (B, "500 Internal Server Error", "Database Error"): lambda m, f, s: database_error(
        m, "/api-keys"
    ),
    (B, "502 Bad Gateway", "AI Model Error"): lambda m, f, s: m.request(
        "POST", "/chat/completions", json=chat("simulate:reset"), headers=bearer(ADMIN)
    ),
    (B, "502 Bad Gateway", "External API Error"): lambda m, f, s: m.request(
        "POST",
        "/chat/completions",
        json=chat("simulate:unavailable", web_search=True),
        headers=bearer(ADMIN),
    ),
    (B, "503 Service Unavailable", "Maintenance Mode"): lambda m, f, s: maintenance(f),
    (B, "503 Service Unavailable", "System Overload"): lambda m, f, s: m.request(
        "POST", "/chat/completions", json=chat("simulate:overload"), headers=bearer(ADMIN)
    ),
    (B, "503 Service Unavailable", "AI Models Unavailable"): lambda m, f, s: models_unavailable(
        m, s
    ),
    (B, "504 Gateway Timeout", "Model Timeout"): lambda m, f, s: m.request(
        "POST", "/chat/completions", json=chat("simulate:hang"), headers=bearer(ADMIN)
    ),
    (B, "504 Gateway Timeout", "Research Timeout"): lambda m, f, s: m.request(
        "POST", "/research", json={"query": "simulate:slow", "depth": 5}, headers=bearer(ADMIN)
    ),
}


def _scenario(ex: dict[str, t.Any]) -> Scenario | None:
    for (seed, section_end, name), scenario in SCENARIOS.items():
        last = ex["section"].rpartition(" / ")[2]
        if (ex["seed"], last, ex["example"]) == (seed, section_end, name):
            return scenario
    return None


def _examples() -> list[t.Any]:
    return [
        pytest.param(
            ex, id=f"{ex['seed'][:3]}-{ex['section'].rpartition(' / ')[2]}-{ex['example']}"
        )
        for ex in EXAMPLES
        if ex["status"] is not None
    ]


def normalized(body: t.Any) -> t.Any:
    if isinstance(body, dict):
        return {
            k: "<varies>" if k in VOLATILE else normalized(v)
            for k, v in body.items()
            if k != "correlation_id"
        }
    if isinstance(body, list):
        return [normalized(v) for v in body]
    return body


def _log_tail(*servers: Server) -> str:
    """The end of the servers' logs, access lines left out."""
    lines = [
        line
        for server in servers
        for line in server.gunicorn.log_text().splitlines()
        if '" 200 ' not in line and '" 202 ' not in line
    ]
    return "\n".join(lines[-60:])


def check_headers(response: requests.Response, body: dict[str, t.Any]) -> None:
    """The headers every error carries, and those its status calls for."""
    assert response.headers["Content-Type"] == "application/json"
    inner = body.get("detail", body)
    assert inner["correlation_id"] == response.headers["X-Request-ID"]
    details = inner.get("details", {})
    if response.status_code == 429:
        assert int(response.headers["Retry-After"]) == details["retry_after"] >= 1
    if response.status_code == 429 and "limit" in details:
        assert response.headers["X-RateLimit-Limit"] == str(details["limit"])
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if response.status_code == 503 and "retry_after" in details:
        assert int(response.headers["Retry-After"]) == details["retry_after"]
    if response.status_code == 503 and "maintenance_window" in details:
        assert 3500 <= int(response.headers["Retry-After"]) <= 3600


@pytest.mark.parametrize("ex", _examples())
def test_documented_example(
    ex: dict[str, t.Any], main: Server, fresh: Server, standin: StandinService
) -> None:
    """Each documented example, produced over HTTP by the scenario it describes."""
    scenario = _scenario(ex)
    assert scenario is not None, "no scenario reaches this documented example"
    response = scenario(main, fresh, standin)
    body = response.json()
    assert response.status_code == ex["status"], (body, _log_tail(main, fresh))
    assert normalized(body) == normalized(ex["body"])
    if response.status_code >= 400:
        check_headers(response, body)
    for url in (main.url, fresh.url, standin.url):
        assert url not in response.text


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


# -- the documented clients, unchanged ------------------------------------------------

#: The first document's client (verbatim).
RETRY_LOOP = """
import requests
from time import sleep

def api_request_with_retry(url, headers, max_retries=3):
    for attempt in range(max_retries):
        try:
            response = requests.get(url, headers=headers)

            if response.status_code == 200:
                return response.json()

            error = response.json()
            error_code = error['detail']['code']

            # Handle specific errors
            if error_code == 'RATE_LIMIT_EXCEEDED':
                retry_after = error['detail']['details'].get('retry_after', 60)
                sleep(retry_after)
                continue

            elif error_code == 'FAL_RATE_LIMIT':
                # External service rate limit - wait longer
                sleep(120)
                continue

            elif error_code in ['AUTHENTICATION_REQUIRED', 'INVALID_API_KEY']:
                # Authentication errors - don't retry
                raise Exception(f"Authentication error: {error['detail']['message']}")

            elif response.status_code >= 500:
                # Server errors - retry with backoff
                sleep(2 ** attempt)
                continue

            else:
                # Client errors - don't retry
                raise Exception(f"Client error: {error['detail']['message']}")

        except requests.RequestException as e:
            if attempt == max_retries - 1:
                raise
            sleep(2 ** attempt)

    raise Exception("Max retries exceeded")
"""

#: The second document's exception classes, response handler and usage
#: example, verbatim (only the spaces of blank lines dropped; one long line is
#: split between two string literals, not in the code).
HANDLER = (
    '''
import requests
from typing import Optional, Dict, Any

class MelanieAPIError(Exception):
    """Base exception for Melanie API errors."""
    def __init__(self, message: str, status_code: int, error_code: str, '''
    '''details: Optional[Dict] = None):
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.details = details or {}
        super().__init__(self.message)

class ValidationError(MelanieAPIError):
    """Validation error (400)."""
    pass

class AuthenticationError(MelanieAPIError):
    """Authentication error (401)."""
    pass

class AuthorizationError(MelanieAPIError):
    """Authorization error (403)."""
    pass

class NotFoundError(MelanieAPIError):
    """Not found error (404)."""
    pass

class RateLimitError(MelanieAPIError):
    """Rate limit error (429)."""
    def __init__(self, message: str, retry_after: int, **kwargs):
        super().__init__(message, 429, "rate_limit_exceeded", **kwargs)
        self.retry_after = retry_after

class ServerError(MelanieAPIError):
    """Server error (5xx)."""
    pass

def handle_api_response(response: requests.Response) -> Dict[Any, Any]:
    """Handle API response and raise appropriate exceptions."""

    if response.status_code == 200:
        return response.json()

    try:
        error_data = response.json()
        error_code = error_data.get('error', 'unknown_error')
        message = error_data.get('message', 'Unknown error occurred')
        details = error_data.get('details', {})
    except ValueError:
        # Non-JSON error response
        error_code = 'unknown_error'
        message = f"HTTP {response.status_code}: {response.text}"
        details = {}

    # Map status codes to exception types
    if response.status_code == 400:
        raise ValidationError(message, response.status_code, error_code, details)
    elif response.status_code == 401:
        raise AuthenticationError(message, response.status_code, error_code, details)
    elif response.status_code == 403:
        raise AuthorizationError(message, response.status_code, error_code, details)
    elif response.status_code == 404:
        raise NotFoundError(message, response.status_code, error_code, details)
    elif response.status_code == 429:
        retry_after = int(response.headers.get('Retry-After', 60))
        raise RateLimitError(message, retry_after, details=details)
    elif response.status_code >= 500:
        raise ServerError(message, response.status_code, error_code, details)
    else:
        raise MelanieAPIError(message, response.status_code, error_code, details)

# Usage example
def make_api_request(url: str, headers: Dict, data: Dict) -> Dict:
    """Make API request with proper error handling."""
    try:
        response = requests.post(url, headers=headers, json=data)
        return handle_api_response(response)

    except ValidationError as e:
        print(f"Validation error: {e.message}")
        if 'validation_errors' in e.details:
            for error in e.details['validation_errors']:
                print(f"  - {error['field']}: {error['message']}")
        raise

    except AuthenticationError as e:
        print(f"Authentication error: {e.message}")
        # Handle re-authentication
        raise

    except RateLimitError as e:
        print(f"Rate limited: {e.message}")
        print(f"Retry after: {e.retry_after} seconds")
        # Implement retry logic
        raise

    except ServerError as e:
        print(f"Server error: {e.message}")
        if 'error_id' in e.details:
            print(f"Error ID: {e.details['error_id']}")
        # Implement retry with exponential backoff
        raise
'''
)


def _load(source: str) -> dict[str, t.Any]:
    namespace: dict[str, t.Any] = {"__name__": "documented_client"}
    exec(compile(source, "<documented client>", "exec"), namespace)
    return namespace


@pytest.fixture
def retry_loop() -> tuple[t.Callable[..., t.Any], list[float]]:
    """The first document's ``api_request_with_retry``; its ``sleep`` records
    the waits instead of waiting."""
    namespace = _load(RETRY_LOOP)
    slept: list[float] = []
    namespace["sleep"] = slept.append
    return namespace["api_request_with_retry"], slept


def test_first_client_reads_a_job(
    main: Server, retry_loop: tuple[t.Callable[..., t.Any], list[float]]
) -> None:
    request_with_retry, slept = retry_loop
    job_id = generated(main, "ok.png")
    job = request_with_retry(f"{main.url}/api/v1/jobs/{job_id}", image_key(JOB_KEYS[job_id]))
    assert (job["job_id"], job["status"], slept) == (job_id, "completed", [])


@pytest.mark.parametrize(
    ("filename", "waits"),
    [("busy.png", [120, 120, 120]), ("fail.png", [1, 2, 4])],
)
def test_first_client_retries_upstream_failures(
    main: Server,
    retry_loop: tuple[t.Callable[..., t.Any], list[float]],
    filename: str,
    waits: list[int],
) -> None:
    request_with_retry, slept = retry_loop
    job_id = generated(main, filename)
    url = f"{main.url}/api/v1/jobs/{job_id}/files/file_001/model"
    with pytest.raises(Exception, match="Max retries exceeded"):
        request_with_retry(url, image_key(JOB_KEYS[job_id]))
    assert slept == waits


def test_first_client_waits_out_the_rate_limit(
    main: Server, retry_loop: tuple[t.Callable[..., t.Any], list[float]]
) -> None:
    request_with_retry, slept = retry_loop
    key = main.new_user()
    last = exhaust(main, "/api/v1/jobs/x", image_key(key), 60)
    with pytest.raises(Exception, match="Max retries exceeded"):
        request_with_retry(f"{main.url}/api/v1/jobs/x", image_key(key))
    assert len(slept) == 3
    assert all(1 <= wait <= last.json()["detail"]["details"]["retry_after"] for wait in slept)


def test_first_client_stops_on_client_errors(
    main: Server, retry_loop: tuple[t.Callable[..., t.Any], list[float]]
) -> None:
    request_with_retry, slept = retry_loop
    with pytest.raises(Exception, match="Client error: Job not found"):
        request_with_retry(f"{main.url}/api/v1/jobs/batch_x", image_key(ADMIN))
    # INVALID_API_KEY is an error_code body, which this client cannot read:
    # the document's own mix of formats.
    with pytest.raises(KeyError, match="detail"):
        request_with_retry(f"{main.url}/api/v1/jobs/x", image_key("mel_" + "Z" * 32))
    assert slept == []


@pytest.fixture
def handler() -> dict[str, t.Any]:
    """The second document's classes and ``handle_api_response``."""
    return _load(HANDLER)


@pytest.mark.parametrize(
    ("path", "kwargs", "exception", "code"),
    [
        ("/chat/completions", {"json": {"messages": []}}, "ValidationError", "validation_error"),
        ("/api-keys/mel_other123", {"headers": {}}, "AuthenticationError", "unauthorized"),
        ("/api-keys/mel_other123", {"user": True}, "AuthorizationError", "forbidden"),
        ("/files/file-nonexistent", {}, "NotFoundError", "not_found"),
        (
            "/chat/completions",
            {"json": {**chat(), "model": "Melanie-3-code", "tools": [{}], "web_search": False}},
            "MelanieAPIError",
            "unprocessable_entity",
        ),
        ("/files/x", {"headers": {**bearer(ADMIN), "X-Fault": "crash"}}, "ServerError", None),
    ],
)
def test_second_client_raises_its_exceptions(
    main: Server,
    handler: dict[str, t.Any],
    path: str,
    kwargs: dict[str, t.Any],
    exception: str,
    code: str | None,
) -> None:
    headers = bearer(main.user) if kwargs.pop("user", False) else bearer(ADMIN)
    headers = kwargs.pop("headers", headers)
    method = "POST" if "json" in kwargs else "GET"
    response = main.request(method, path, headers=headers, **kwargs)
    with pytest.raises(handler[exception]) as raised:
        handler["handle_api_response"](response)
    error = raised.value
    assert type(error) is handler[exception]
    assert error.status_code == response.status_code
    assert error.message == response.json()["message"]
    assert error.error_code == (code or "internal_server_error")
    if exception == "ServerError":
        assert error.details["error_id"].startswith("err_")


def test_second_client_reads_rate_limits(main: Server, handler: dict[str, t.Any]) -> None:
    key = main.new_user()
    response = exhaust(main, "/files/x", bearer(key), 100)
    with pytest.raises(handler["RateLimitError"]) as raised:
        handler["handle_api_response"](response)
    assert raised.value.retry_after == response.json()["details"]["retry_after"]
    assert raised.value.message == "Rate limit of 100 requests per minute exceeded"


def test_second_client_usage_example(
    main: Server, handler: dict[str, t.Any], capsys: pytest.CaptureFixture[str]
) -> None:
    url = main.url + "/chat/completions"
    assert handler["make_api_request"](url, bearer(ADMIN), chat())["object"] == "chat.completion"
    with pytest.raises(handler["ValidationError"]):
        handler["make_api_request"](url, bearer(ADMIN), {"messages": chat()["messages"]})
    assert capsys.readouterr().out == (
        "Validation error: Request validation failed\n  - model: Field required\n"
    )


def test_no_worker_was_lost(main: Server, fresh: Server) -> None:
    """Nothing above crashed, restarted or timed out a gunicorn worker."""
    for server in (main, fresh):
        log = server.gunicorn.log_text()
        assert "WORKER TIMEOUT" not in log
        assert "Worker exiting" not in log
        assert server.gunicorn.worker_pids() == server.workers


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
    env = _env(instance, ADMIN_KEY=ADMIN, GENERATION_SERVICE_URL="", STREAM_HEARTBEAT=0.2)
    with GunicornServer(
        "example_app.wsgi:app",
        worker_class="gthread",
        threads=1,
        config=CONFIG,
        env={k: v for k, v in os.environ.items() if not k.startswith("EXAMPLE_APP_")} | env,
        health_path="/health",
    ) as gunicorn:
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
