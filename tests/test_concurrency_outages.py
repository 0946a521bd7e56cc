"""ConcurrencyLimiter's outage policy, on memory storage that fails like an
unreachable Redis: fail-open, fail-closed and a release that fails."""

from __future__ import annotations

import logging
import time
import typing as t

import pytest
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors.limits_storage import MemoryConcurrencyStorage

# -- storage outages ------------------------------------------------------------------------


class FlakyStorage(MemoryConcurrencyStorage):
    """Memory storage that fails like an unreachable Redis while ``down``."""

    errors: tuple[type[BaseException], ...] = (ConnectionError,)

    def __init__(self, location: str) -> None:
        super().__init__()
        self.location = location
        self.down = False

    def acquire(self, key: str, slot: str, limit: int, ttl: float) -> tuple[bool, int]:
        if self.down:
            raise ConnectionError("refused by 10.0.0.9:6379")
        return super().acquire(key, slot, limit, ttl)

    def release(self, key: str, slot: str) -> None:
        if self.down:
            raise ConnectionError("refused")
        super().release(key, slot)


def _flaky(request_node: pytest.FixtureRequest, **options: t.Any) -> tuple[Flask, FlakyStorage]:
    storage = FlakyStorage(f"flaky {request_node.node.name}")
    app = Flask("flaky")
    app.config["TESTING"] = True
    ApiErrors(app, format="error")
    limiter = ConcurrencyLimiter(
        app, key_func=lambda: "k", storage=storage, limits_retry_interval=0.05, **options
    )

    @app.get("/")
    @limiter.limit(1)
    def index() -> str:
        return "ok"

    return app, storage


def test_fail_open_with_one_warning_per_outage(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> None:
    app, storage = _flaky(request)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_apierrors.limits"):
        for outage in range(2):
            storage.down = True
            statuses = [client.get("/", buffered=True).status_code for _ in range(10)]
            assert statuses == [200] * 10
            storage.down = False
            time.sleep(0.06)
            assert client.get("/", buffered=True).status_code == 200
            assert len(caplog.records) == outage + 1
    assert "(ConnectionError): requests pass unchecked (fail-open)" in caplog.text
    assert "10.0.0.9" not in caplog.text


def test_fail_closed_json_503(request: pytest.FixtureRequest) -> None:
    app, storage = _flaky(request, limits_fail_open=False)
    client = app.test_client()
    storage.down = True
    response = client.get("/", buffered=True)
    assert response.status_code == 503
    assert response.get_json()["error"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    storage.down = False
    time.sleep(0.06)
    assert client.get("/", buffered=True).status_code == 200


def test_a_failed_release_does_not_fail_the_response(request: pytest.FixtureRequest) -> None:
    app, storage = _flaky(request, concurrency_slot_ttl=0.1)
    client = app.test_client()
    response = client.get("/")
    storage.down = True
    response.close()  # release fails: the slot expires instead
    storage.down = False
    time.sleep(0.15)
    assert client.get("/", buffered=True).status_code == 200
