"""Every error example of both documented APIs (tests/data/seed_examples.json),
reached over HTTP on the example app under real gunicorn (2 workers, gthread;
the limits shared through a real Redis) by the scenario it describes, and
compared with the answer: status, headers and body, values that depend on
time or ids and the ``correlation_id`` member aside. Two servers: ``main``
(admin key, stand-in services, fault injection on) and ``fresh`` (a new
install: no key yet, no generation service, a tiny storage quota); neither
loses a worker."""

from __future__ import annotations

import time
import typing as t

import pytest
import requests

from example_app.standin import StandinService
from tests.support import example_server
from tests.support.example_scenarios import busy_file
from tests.support.example_scenarios import concurrent_limit
from tests.support.example_scenarios import database_error
from tests.support.example_scenarios import deactivated
from tests.support.example_scenarios import internal_error
from tests.support.example_scenarios import maintenance
from tests.support.example_scenarios import model_missing
from tests.support.example_scenarios import models_unavailable
from tests.support.example_scenarios import not_ready
from tests.support.example_scenarios import processing_error
from tests.support.example_scenarios import too_large
from tests.support.example_scenarios import upload_file
from tests.support.example_server import ADMIN
from tests.support.example_server import EXAMPLES
from tests.support.example_server import PNG
from tests.support.example_server import Server
from tests.support.example_server import batch
from tests.support.example_server import bearer
from tests.support.example_server import chat
from tests.support.example_server import exhaust
from tests.support.example_server import generated
from tests.support.example_server import image_key
from tests.support.example_server import model
from tests.support.example_server import serve
from tests.support.example_server import settings_env

pytestmark = pytest.mark.slow

BAD_JSON: t.Final = '{\n  "model": "Melanie-3", "stream": true\n    "messages": []\n}'
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

# The fixtures this module uses, by name (see tests/support/example_server.py).
standin = example_server.standin
main = example_server.main


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Server]:
    """A new install: the first request comes before any key exists."""
    instance = tmp_path_factory.mktemp("fresh") / "instance"
    env = settings_env(instance, GENERATION_SERVICE_URL="", STORAGE_QUOTA=524288)
    with serve(env, instance) as server:
        server.first = server.request("GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
        keys = [w for w in server.flask("create-keys").split() if w.startswith("mel_")]
        server.user = keys[0]  # an admin key, created by the CLI
        yield server


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


def test_no_worker_was_lost(main: Server, fresh: Server) -> None:
    """Nothing above crashed, restarted or timed out a gunicorn worker."""
    for server in (main, fresh):
        log = server.gunicorn.log_text()
        assert "WORKER TIMEOUT" not in log
        assert "Worker exiting" not in log
        assert server.gunicorn.worker_pids() == server.workers
