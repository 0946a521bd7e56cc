"""Limits that hold across gunicorn workers through a real Redis, and what
clients see when that Redis dies or hangs (tests.apps.limits_app)."""

from __future__ import annotations

import collections
import json
import os
import signal
import socket
import threading
import time
import typing as t

import pytest
import requests

from tests.support.load import Load
from tests.support.load import burst as _burst
from tests.support.load import get_json as _get
from tests.support.load import unique_key as _key
from tests.support.load import wait_for as _wait_for
from tests.support.servers import GunicornServer
from tests.support.servers import RedisServer
from tests.support.servers import requires_redis

pytestmark = [pytest.mark.slow, requires_redis]

APP = "tests.apps.limits_app:create_app()"
SOCKET_TIMEOUT = 0.25
#: What a request may take beyond the socket timeout on a busy 2-core box.
MARGIN = 0.75
#: Import the app once, before the workers fork (faster start; no Redis
#: connection is opened before the fork).
PRELOAD = ("--preload",)


def _stats(web: GunicornServer, client: str, scope: str = "slow") -> dict[str, int]:
    with requests.Session() as session:
        response = session.get(f"{web.url}/stats", params={"client": client, "scope": scope})
        stats: dict[str, int] = response.json()
        return stats


@pytest.fixture(scope="module")
def servers() -> t.Iterator[tuple[RedisServer, GunicornServer]]:
    with RedisServer() as redis_server:
        env = {"LIMITS_REDIS_URL": redis_server.url, "LIMITS_SLOT_TTL": "1"}
        with GunicornServer(
            APP,
            workers=4,
            worker_class="gthread",
            threads=4,
            env=env,
            health_path="/health",
            extra_args=PRELOAD,
        ) as web:
            web.wait_for_workers(4)
            yield redis_server, web


# -- limits across workers ------------------------------------------------------------------


def test_rate_limit_is_exact_across_workers(servers: tuple[RedisServer, GunicornServer]) -> None:
    _, web = servers
    results = _burst(f"{web.url}/limited", _key("rate"))
    assert collections.Counter(r.status for r in results) == {200: 100, 429: 300}
    assert len({r.body["pid"] for r in results if r.status == 200}) > 1  # several workers
    for result in (r for r in results if r.status == 429):
        assert result.body["error"] == "rate_limit_exceeded"
        assert result.body["message"] == "Rate limit of 100 requests per minute exceeded"
        details = result.body["details"]
        # requests joins repeated headers with ", ": a plain number means "once".
        assert result.headers["X-RateLimit-Limit"] == str(details["limit"]) == "100"
        assert result.headers["X-RateLimit-Remaining"] == str(details["remaining"]) == "0"
        assert result.headers["Retry-After"] == str(details["retry_after"])
        assert 1 <= details["retry_after"] <= 61
        assert result.headers["X-RateLimit-Reset"].isdigit()


def test_concurrency_limit_holds_across_workers(
    servers: tuple[RedisServer, GunicornServer],
) -> None:
    _, web = servers
    client = _key("slow")
    results = _burst(f"{web.url}/slow", client)
    counts = collections.Counter(r.status for r in results)
    assert set(counts) == {200, 429}
    for result in (r for r in results if r.status == 429):
        assert result.body["error"] == "concurrent_limit_exceeded"
        assert result.body["details"]["concurrent_limit"] == 5
        assert result.body["details"]["current_concurrent"] == 6
        assert result.headers["Retry-After"] == "1"
    stats = _stats(web, client)
    assert stats["max_in_flight"] == 5, stats  # reached, never exceeded
    assert stats["in_flight"] == 0
    _wait_for(lambda: _stats(web, client)["slots"] == 0, timeout=2)
    print(f"\nconcurrency 5 across 4x4 workers: {dict(counts)}, max in flight {stats}")


def _open_stream(web: GunicornServer, client: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", web.port), timeout=5)
    sock.sendall(f"GET /stream HTTP/1.1\r\nHost: t\r\nX-Client: {client}\r\n\r\n".encode("ascii"))
    received = b""
    while b"data: 0" not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:100]
    return sock


def test_a_client_leaving_a_stream_frees_its_slot(
    servers: tuple[RedisServer, GunicornServer],
) -> None:
    _, web = servers
    client = _key("stream")
    with _open_stream(web, client):
        assert _stats(web, client, "stream")["slots"] == 1
        with requests.Session() as session:
            refused = _get(session, f"{web.url}/stream", client)
        assert refused.status == 429
    # The socket is closed: gunicorn's next write fails and it closes the body.
    waited = _wait_for(lambda: _stats(web, client, "stream")["slots"] == 0, timeout=3)
    with _open_stream(web, client):
        pass
    print(f"\nslot released {waited:.2f}s after the client left the stream")


def test_slots_of_a_killed_worker_expire(servers: tuple[RedisServer, GunicornServer]) -> None:
    _, web = servers
    client = _key("crash")
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with requests.Session() as session:
                session.get(f"{web.url}/hold?sleep=30", headers={"X-Client": client}, timeout=10)
        except requests.RequestException as exc:  # the worker dies under it
            errors.append(exc)

    thread = threading.Thread(target=hold)
    thread.start()
    _wait_for(lambda: _stats(web, client, "hold")["hold_pid"] != 0, timeout=5)
    pid = _stats(web, client, "hold")["hold_pid"]
    assert pid in web.worker_pids()
    os.kill(pid, signal.SIGKILL)
    thread.join(10)
    assert errors
    assert _stats(web, client, "hold")["slots"] == 1  # nobody released it
    waited = _wait_for(lambda: _stats(web, client, "hold")["slots"] == 0, timeout=5)
    with requests.Session() as session:
        assert _get(session, f"{web.url}/hold", client).status == 200
    web.wait_for_workers(4)
    print(f"\nslot of the killed worker expired {waited:.2f}s after the kill (ttl 1s)")


# -- outages --------------------------------------------------------------------------------


def _outage_run(fail_open: bool) -> tuple[Load, str, dict[str, float]]:
    """Load ``/both`` while Redis is paused, resumed, killed and restarted."""
    marks: dict[str, float] = {}
    with RedisServer() as redis_server:
        env = {
            "LIMITS_REDIS_URL": redis_server.url,
            "LIMITS_SOCKET_TIMEOUT": str(SOCKET_TIMEOUT),
            "LIMITS_FAIL_OPEN": "1" if fail_open else "0",
        }
        # Sync workers and a 2s timeout: a request stuck on Redis would show
        # up as WORKER TIMEOUT.
        with GunicornServer(
            APP,
            workers=4,
            worker_class="sync",
            timeout=2,
            env=env,
            health_path="/health",
            extra_args=PRELOAD,
        ) as web:
            web.wait_for_workers(4)
            with Load(web.url + "/both", _key("outage")) as load:
                for phase, action, seconds in (
                    ("healthy", None, 0.5),
                    ("paused", redis_server.pause, 1.2),
                    ("resumed", redis_server.resume, 1.0),
                    ("killed", redis_server.kill, 1.2),
                    ("restarted", redis_server.restart, 1.2),
                ):
                    if action is not None:
                        action()
                    load.phase = phase
                    marks[phase] = time.monotonic()
                    time.sleep(seconds)
            marks["recovered"] = _recovered(web, since=marks["restarted"])
            log = web.log_text()
    return load, log, marks


def _recovered(web: GunicornServer, since: float) -> float:
    """Seconds after the restart until every worker counts in Redis again: a
    fresh client gets exactly 3 of /small, whichever workers serve it."""

    def exact() -> bool:
        client = _key("small")
        with requests.Session() as session:
            statuses = [_get(session, f"{web.url}/small", client).status for _ in range(6)]
        return statuses == [200, 200, 200, 429, 429, 429]

    _wait_for(exact, timeout=10)
    return time.monotonic() - since


def _check_outage_log(log: str) -> tuple[int, int]:
    assert "WORKER TIMEOUT" not in log
    assert "Traceback" not in log
    warnings = log.count("WARNING flask_apierrors.limits")
    recoveries = log.count("INFO flask_apierrors.limits")
    # One WARNING per worker per outage at most (two outages, four workers;
    # both limiters share the guard of their Redis), and each outage ends.
    assert 2 <= warnings <= 8, log
    assert recoveries == warnings, log
    return warnings, recoveries


def _max_elapsed(load: Load, *phases: str) -> float:
    return max(r.elapsed for phase in phases for r in load.in_phase(phase))


def test_outages_fail_open() -> None:
    load, log, marks = _outage_run(fail_open=True)
    assert load.failures == []
    for phase in ("healthy", "paused", "resumed", "killed", "restarted"):
        results = load.in_phase(phase)
        assert results, phase
        assert {r.status for r in results} == {200}, phase
    worst = _max_elapsed(load, "paused", "killed")
    assert worst <= SOCKET_TIMEOUT + MARGIN
    warnings, recoveries = _check_outage_log(log)
    counts = {phase: len(load.in_phase(phase)) for phase in marks if phase != "recovered"}
    print(
        f"\nfail-open: requests per phase {counts}; slowest answer during outages"
        f" {worst:.3f}s (socket timeout {SOCKET_TIMEOUT}s); {warnings} warnings,"
        f" {recoveries} recoveries logged; exact limits again {marks['recovered']:.2f}s"
        " after the restart"
    )


def test_outages_fail_closed() -> None:
    load, log, marks = _outage_run(fail_open=False)
    assert load.failures == []
    for phase in ("paused", "killed"):
        results = load.in_phase(phase)
        refused = [r for r in results if r.status == 503]
        assert {r.status for r in results} <= {200, 503}
        assert len(refused) >= len(results) * 0.8, phase
        for result in refused:
            assert result.body["error"] == "service_unavailable"
            assert result.headers["Retry-After"] == str(result.body["details"]["retry_after"])
            assert result.body["details"]["retry_after"] >= 1
            assert json.dumps(result.body).count("127.0.0.1") == 0
    assert [r.status for r in load.in_phase("restarted")[-4:]] == [200] * 4
    worst = _max_elapsed(load, "paused", "killed")
    assert worst <= SOCKET_TIMEOUT + MARGIN
    _check_outage_log(log)
    print(
        f"\nfail-closed: slowest answer during outages {worst:.3f}s; "
        f"503s {sum(r.status == 503 for r in load.results)} of {len(load.results)};"
        f" exact limits again {marks['recovered']:.2f}s after the restart"
    )
