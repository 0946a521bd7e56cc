"""The example app's limits settings (example_app/limits.py), without a
server: bounded Redis clients for both limiters, and a health check that no
limit applies to."""

from __future__ import annotations

import logging
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask_limiter import Limiter

from example_app import create_app
from example_app.limits import REDIS_SOCKET_TIMEOUT
from flask_apierrors.limits_storage.redis_clients import unbounded_waits
from flask_apierrors.ratelimit.guard import GuardedStorage


def _app(tmp_path: Path, **config: object) -> Flask:
    return create_app({"INSTANCE_PATH": str(tmp_path), **config})


def _limiter(app: Flask) -> Limiter:
    found = app.extensions["limiter"]
    return t.cast(Limiter, next(iter(found)) if isinstance(found, set) else found)


def test_health_is_never_limited(tmp_path: Path) -> None:
    client = _app(tmp_path, CHAT_RATE_LIMIT="2 per minute").test_client()
    assert [client.get("/health").status_code for _ in range(5)] == [200] * 5
    # The chat API's other routes share the limit.
    assert [client.get("/system/maintenance").status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.parametrize(
    "uri", ["redis://127.0.0.1:1/0", "redis+sentinel://127.0.0.1:1,127.0.0.1:2/mymaster"]
)
def test_redis_settings_have_timeouts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, uri: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="flask_apierrors.limits"):
        app = _app(tmp_path, RATELIMIT_STORAGE_URI=uri)
        app.test_client().get("/health")  # the first request's checks
    assert caplog.records == []
    guarded = _limiter(app).limiter.storage
    assert isinstance(guarded, GuardedStorage)
    client = t.cast(t.Any, guarded.inner).storage
    assert unbounded_waits(client) == []
    assert client.connection_pool.connection_kwargs["socket_timeout"] == REDIS_SOCKET_TIMEOUT
    assert app.config["APIERRORS_CONCURRENCY_STORAGE_URI"] == uri
