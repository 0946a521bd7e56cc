"""The example app in process, for the tests of its routes and errors
(tests/test_example_<topic>.py): an app factory with the instance folder in
``tmp_path`` and the admin key, the stand-in services on loopback, requests
through Flask's test client, and the documented examples of both APIs
(tests/data/seed_examples.json) to compare bodies with, values that depend on
time or ids and the ``correlation_id`` member aside.

A test module binds the fixtures it uses by name (``make_app =
example_inprocess.make_app``), ``clean_environment`` (autouse) among them. A
module that binds ``client`` or ``generating`` binds ``make_app`` too: they
ask for it by name, and the suite's own ``make_app`` (tests/conftest.py) would
answer otherwise.
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from example_app import create_app
from example_app import generation
from example_app.standin import StandinService
from tests.support.seeds import seed_examples

EXAMPLES = seed_examples()

ADMIN: t.Final = "mel_" + "A" * 32
PNG: t.Final = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
#: Values that depend on time or on ids.
VOLATILE: t.Final = frozenset(
    {"timestamp", "error_id", "key_id", "your_key", "deactivated_at", "reset_at", "retry_after"}
)

MakeApp = t.Callable[..., Flask]


def example(section: str, name: str | None = None) -> dict[str, t.Any]:
    """The documented example of ``section`` (the last part of its title)."""
    for ex in EXAMPLES:
        if ex["section"].rpartition(" / ")[2] == section and ex["example"] == name:
            return ex
    raise LookupError(section)


def normalized(body: t.Any, aside: t.AbstractSet[str] = VOLATILE) -> t.Any:
    """``body`` without ``correlation_id`` and with ``aside`` values blanked."""
    if isinstance(body, dict):
        return {
            k: "<varies>" if k in aside else normalized(v, aside)
            for k, v in body.items()
            if k != "correlation_id"
        }
    if isinstance(body, list):
        return [normalized(v, aside) for v in body]
    return body


def assert_example(
    response: TestResponse,
    section: str,
    name: str | None = None,
    aside: t.AbstractSet[str] = VOLATILE,
) -> dict[str, t.Any]:
    """The response has the documented status and body."""
    ex = example(section, name)
    body = response.get_json()
    assert response.status_code == ex["status"], body
    assert response.mimetype == "application/json"
    assert normalized(body, aside) == normalized(ex["body"], aside)
    inner = body.get("detail", body)
    assert inner["correlation_id"] == response.headers["X-Request-ID"]
    return t.cast(dict[str, t.Any], body)


def multipart(parts: t.Iterable[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body of ``(field, filename, content type, data)``
    parts (built in memory: the test client's own encoder leaves a temporary
    file open for large bodies)."""
    boundary = "example-boundary-7MA4YWxkTrZu0gW"
    chunks = []
    for field, filename, content_type, data in parts:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}";'
            f' filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        chunks += [head.encode(), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def chat_body(content: str = "Hello", **extra: t.Any) -> dict[str, t.Any]:
    return {"model": "Melanie-3", "messages": [{"role": "user", "content": content}], **extra}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EXAMPLE_APP_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_app(tmp_path: Path) -> t.Iterator[MakeApp]:
    """Apps with their instance folder in ``tmp_path`` and the admin key."""

    def factory(**config: t.Any) -> Flask:
        base = {
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "ADMIN_KEY": ADMIN,
            # Polling a job counts too; tests of the limits set their own.
            "IMAGE_RATE_LIMIT": "1000 per minute",
        }
        return create_app({**base, **config})

    yield factory
    assert generation.wait_idle(20), "a background generation is still running"


@pytest.fixture
def standin() -> t.Iterator[StandinService]:
    with StandinService(work_seconds=0.05, slow_seconds=30) as service:
        yield service


@pytest.fixture
def client(make_app: MakeApp) -> FlaskClient:
    return make_app().test_client()


def call(client: FlaskClient, method: str, path: str, **kwargs: t.Any) -> TestResponse:
    """A request whose response is read and closed at once (freeing its
    concurrency slot)."""
    response = client.open(path, method=method, **kwargs)
    response.get_data()
    response.close()
    return response


def user_key(client: FlaskClient) -> str:
    response = call(client, "POST", "/api-keys", headers=bearer(ADMIN))
    assert response.status_code == 201
    return str(response.get_json()["api_key"])


def upload(
    client: FlaskClient, key: str, data: bytes, name: str, content_type: str
) -> TestResponse:
    body, mimetype = multipart([("file", name, content_type, data)])
    return call(client, "POST", "/files", data=body, content_type=mimetype, headers=bearer(key))


def batch(client: FlaskClient, *files: tuple[bytes, str], key: str = ADMIN) -> TestResponse:
    body, mimetype = multipart([("files", name, "image/png", data) for data, name in files])
    return call(
        client,
        "POST",
        "/api/v1/batch/upload",
        data=body,
        content_type=mimetype,
        headers={"X-API-Key": key},
    )


@pytest.fixture
def generating(make_app: MakeApp, standin: StandinService) -> tuple[Flask, FlaskClient]:
    app = make_app(
        GENERATION_SERVICE_URL=standin.url, GENERATION_BACKOFF=0.01, GENERATION_MAX_TIME=5
    )
    return app, app.test_client()
