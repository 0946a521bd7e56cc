"""The example app under real gunicorn (2 workers, gthread), for the tests
over HTTP (tests/test_example_documented.py, _clients.py, _http.py): the
``main`` server (admin key, stand-in services, fault injection on, its rate
and concurrency limits shared by the workers through a real Redis), and
requests to it.

A test module binds the fixtures it uses by name (``main =
example_server.main``), ``standin`` with ``main``, which asks for it: each
module starts servers of its own (module scope)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import requests

from example_app.standin import StandinService
from tests.support.seeds import seed_examples
from tests.support.servers import GunicornServer
from tests.support.servers import RedisServer

EXAMPLES = seed_examples()
REPO = Path(__file__).parents[2]
CONFIG = REPO / "example_app" / "gunicorn.conf.py"

ADMIN: t.Final = "mel_" + "E2e" * 10 + "AB"
PNG: t.Final = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TIMEOUT: t.Final = 30


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


def settings_env(instance: Path, **settings: t.Any) -> dict[str, str]:
    env = {"EXAMPLE_APP_INSTANCE_PATH": str(instance)}
    for name, value in settings.items():
        env[f"EXAMPLE_APP_{name}"] = value if isinstance(value, str) else json.dumps(value)
    return env


def example_gunicorn(env: dict[str, str], **options: t.Any) -> GunicornServer:
    """gunicorn serving the example app with its config, on ``env`` and none
    of this process's own example settings."""
    outside = {k: v for k, v in os.environ.items() if not k.startswith("EXAMPLE_APP_")}
    return GunicornServer(
        "example_app.wsgi:app", config=CONFIG, env=outside | env, health_path="/health", **options
    )


@contextlib.contextmanager
def serve(env: dict[str, str], instance: Path) -> t.Iterator[Server]:
    with example_gunicorn(env, workers=2, worker_class="gthread", threads=8) as gunicorn:
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
        env = settings_env(
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
        with serve(env, instance) as server:
            server.user = server.new_user()
            yield server


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


def exhaust(server: Server, path: str, headers: dict[str, str], limit: int) -> requests.Response:
    """``limit`` requests, then the one over the limit."""
    for _ in range(limit):
        assert server.request("GET", path, headers=headers).status_code != 429
    return server.request("GET", path, headers=headers)
