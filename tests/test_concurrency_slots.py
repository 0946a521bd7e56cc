"""ConcurrencyLimiter on memory storage: every way a request can end releases
its slot, and slots of responses never closed expire."""

from __future__ import annotations

import threading
import time

import pytest

from flask_apierrors.concurrency import ConcurrentLimitExceeded
from tests.support.concurrency_apps import hold as _hold
from tests.support.concurrency_apps import in_flight as _in_flight
from tests.support.concurrency_apps import setup_app as _setup

# -- every way a request ends releases its slot ---------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [("/ok", 200), ("/api-error", 404), ("/stream?chunks=2", 200)],
)
def test_released_when_the_response_is_closed(path: str, status: int) -> None:
    setup = _setup()
    client = setup.app.test_client()
    response = client.get(path, headers={"X-Key": "k"})
    assert response.status_code == status
    assert _in_flight(setup) == 1  # held until the server closes the body
    response.close()
    assert _in_flight(setup) == 0


@pytest.mark.parametrize("path", ["/ok", "/api-error", "/stream?chunks=5"])
def test_released_after_buffered_responses(path: str) -> None:
    setup = _setup(limit=1)
    client = setup.app.test_client()
    for _ in range(3):
        client.get(path, headers={"X-Key": "k"}, buffered=True)
    assert _in_flight(setup) == 0


def test_released_when_an_unhandled_exception_escapes() -> None:
    setup = _setup(limit=1)
    client = setup.app.test_client()
    with pytest.raises(RuntimeError):  # TESTING propagates exceptions
        client.get("/crash", headers={"X-Key": "k"})
    assert _in_flight(setup) == 0


def test_released_after_a_json_500() -> None:
    setup = _setup(limit=1)
    setup.app.config["TESTING"] = False
    client = setup.app.test_client()
    for _ in range(2):
        response = client.get("/crash", headers={"X-Key": "k"}, buffered=True)
        assert response.status_code == 500
        assert response.get_json()["error"] == "internal_server_error"
    assert _in_flight(setup) == 0


def test_stream_closed_early_releases_and_closes_the_generator() -> None:
    setup = _setup(limit=1)
    client = setup.app.test_client()
    response = _hold(client, "/stream?chunks=1000")
    chunks = response.response
    assert next(iter(chunks)) == b"data: 0\n\n"
    assert client.get("/ok", headers={"X-Key": "k"}).status_code == 429
    response.close()  # the client went away
    assert setup.events == ["generator closed"]
    assert _in_flight(setup) == 0
    assert client.get("/ok", headers={"X-Key": "k"}, buffered=True).status_code == 200


def test_stream_that_ends_releases() -> None:
    setup = _setup(limit=1)
    client = setup.app.test_client()
    response = _hold(client, "/stream?chunks=3")
    assert response.get_data() == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    response.close()
    assert setup.events == ["generator closed"]
    assert _in_flight(setup) == 0


def test_released_at_teardown_outside_the_middleware() -> None:
    setup = _setup(limit=1)
    view = setup.app.view_functions["ok"]
    with setup.app.test_request_context("/ok", headers={"X-Key": "k"}):
        view()
        assert setup.limiter.in_flight("k", "shared") == 1
        with pytest.raises(ConcurrentLimitExceeded):
            view()
    assert _in_flight(setup) == 0


def test_threads_never_exceed_the_limit() -> None:
    setup = _setup(limit=3)
    app, limiter = setup.app, setup.limiter
    peak = 0
    current = 0
    lock = threading.Lock()

    @app.get("/slow")
    @limiter.limit(3, scope="slow")
    def slow() -> str:
        nonlocal peak, current
        with lock:
            current += 1
            peak = max(peak, current)
        time.sleep(0.01)
        with lock:
            current -= 1
        return "ok"

    statuses: list[int] = []

    def worker() -> None:
        client = app.test_client()
        for _ in range(15):
            response = client.get("/slow", headers={"X-Key": "k"}, buffered=True)
            statuses.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak <= 3
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) >= 3
    with app.test_request_context():
        assert limiter.in_flight("k", "slow") == 0


# -- expiry ---------------------------------------------------------------------------------


def test_slots_of_a_response_never_closed_expire() -> None:
    setup = _setup(limit=1, concurrency_slot_ttl=0.2)
    client = setup.app.test_client()
    leaked = _hold(client)  # as if the worker died: never closed
    assert client.get("/ok", headers={"X-Key": "k"}).status_code == 429
    time.sleep(0.25)
    assert client.get("/ok", headers={"X-Key": "k"}, buffered=True).status_code == 200
    leaked.close()


def test_a_long_stream_keeps_its_slot() -> None:
    setup = _setup(limit=1, concurrency_slot_ttl=0.3)
    client = setup.app.test_client()
    response = _hold(client, "/stream?chunks=8&pause=0.1")
    chunks = iter(response.response)
    for _ in range(6):  # 0.6s: twice the ttl
        next(chunks)
    assert client.get("/ok", headers={"X-Key": "k"}).status_code == 429
    response.close()
    assert _in_flight(setup) == 0
