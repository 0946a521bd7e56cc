"""Tests of tests/support: real Redis, gunicorn and upstream servers on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
import redis
import requests

from tests.support.servers import REPO_ROOT
from tests.support.servers import GunicornServer
from tests.support.servers import RedisServer
from tests.support.servers import free_port
from tests.support.servers import pid_alive
from tests.support.servers import pids_in_group
from tests.support.servers import requires_redis
from tests.support.servers import stop_process
from tests.support.servers import wait_for_http
from tests.support.servers import wait_for_port
from tests.support.upstream import UpstreamServer
from tests.support.upstream import refused_url

HELLO_APP = "tests.support.hello_app:app"


def _redis_client(url: str) -> redis.Redis:
    # retry=None: one attempt, so a timeout shows up after socket_timeout, not after retries.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5, retry=None)


# -- ports ----------------------------------------------------------------------------------


def test_free_port_is_bindable_and_waits_time_out() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    with pytest.raises(TimeoutError):
        wait_for_port(port, timeout=0.2)
    with pytest.raises(TimeoutError):
        wait_for_http(f"http://127.0.0.1:{port}/", timeout=0.2)


# -- Redis ----------------------------------------------------------------------------------


@pytest.mark.slow
@requires_redis
def test_redis_ping_pause_kill_restart() -> None:
    with RedisServer() as server:
        assert server.url == f"redis://127.0.0.1:{server.port}"
        wait_for_port(server.port, timeout=1)
        with _redis_client(server.url) as client:
            assert client.ping() is True
            client.set("key", "value")
            assert client.get("key") == b"value"

        server.pause()
        try:
            with _redis_client(server.url) as client, pytest.raises(redis.TimeoutError):
                client.ping()
        finally:
            server.resume()
        with _redis_client(server.url) as client:
            assert client.ping() is True

        pid = server.pid
        server.kill()
        assert not pid_alive(pid)
        with _redis_client(server.url) as client, pytest.raises(redis.ConnectionError):
            client.ping()

        server.restart()
        assert server.pid != pid
        with _redis_client(server.url) as client:
            assert client.ping() is True
            assert client.get("key") is None  # no persistence
        pid = server.pid
    assert not pid_alive(pid)
    assert not server.tmpdir.exists()


# -- gunicorn -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("worker_class", "threads"), [("sync", 1), ("gthread", 4)])
def test_gunicorn_two_workers_answer_and_stop_leaves_no_process(
    worker_class: str, threads: int
) -> None:
    with GunicornServer(HELLO_APP, workers=2, worker_class=worker_class, threads=threads) as server:
        master = server.pid
        workers = server.wait_for_workers(2)
        assert pids_in_group(master) == sorted([master, *workers])
        response = requests.get(server.url + "/", timeout=5)
        assert response.status_code == 200
        assert response.json()["pid"] in workers
        assert httpx.get(server.url + "/missing", timeout=5).status_code == 404
        server.stop()
        assert not server.is_running()
        assert not pid_alive(master)
        assert not any(pid_alive(pid) for pid in workers)
        assert pids_in_group(master) == []
        log = server.log_text()
    assert "Booting worker" in log
    assert "WORKER TIMEOUT" not in log
    assert server.log_text() == log  # still readable after the temp dir is gone
    assert not server.tmpdir.exists()


@pytest.mark.slow
def test_gunicorn_start_failure_reports_log_and_cleans_up() -> None:
    server = GunicornServer("tests.support.no_such_module:app", startup_timeout=10)
    with pytest.raises(RuntimeError, match="no_such_module"):
        with server:
            pass  # pragma: no cover
    assert not server.is_running()
    assert not server.tmpdir.exists()


_DYING_TEST_PROCESS = """
import os, signal
from tests.support.servers import RedisServer
server = RedisServer().start()
print(server.pid, server.tmpdir, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
@requires_redis
def test_watchdog_kills_servers_when_the_test_process_dies() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _DYING_TEST_PROCESS],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    pid, tmpdir = result.stdout.split()
    deadline = time.monotonic() + 5
    while (pid_alive(int(pid)) or os.path.exists(tmpdir)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(int(pid))
    assert not os.path.exists(tmpdir)


def _session(argv: list[str], *, pipe: bool = False) -> subprocess.Popen[bytes]:
    out = subprocess.PIPE if pipe else subprocess.DEVNULL
    return subprocess.Popen(argv, start_new_session=True, stdout=out)


def test_stopping_a_reaped_process_never_signals_a_group_that_is_no_longer_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A leader reaped long ago leaves its group number free, and a long run recycles it (pid_max
    is 32768 here): stopping it must not kill whoever has that number now."""
    other = _session([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        gone = _session([sys.executable, "-c", "pass"])
        gone.wait(10)
        # Stand-in for recycling: the reaped process's PID is now the other session's.
        monkeypatch.setattr(gone, "pid", other.pid)
        stop_process(gone, timeout=0)
        assert other.poll() is None  # not signalled
    finally:
        other.kill()
        other.wait(10)


_ORPHANING_LEADER = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(child.pid, flush=True)
os._exit(0)
"""


def test_stopping_a_dead_leader_still_kills_what_it_left_in_its_group() -> None:
    leader = _session([sys.executable, "-c", _ORPHANING_LEADER], pipe=True)
    assert leader.stdout is not None
    orphan = int(leader.stdout.readline())
    leader.wait(10)  # reaped: its group lives on in the orphan
    assert pids_in_group(leader.pid) == [orphan]
    stop_process(leader, timeout=0)
    deadline = time.monotonic() + 5
    while pid_alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_alive(orphan)
    leader.stdout.close()


# -- upstream -------------------------------------------------------------------------------


def test_upstream_ok_echoes_request_id_and_records() -> None:
    with UpstreamServer() as upstream:
        response = requests.get(
            upstream.url + "/ok", headers={"X-Request-ID": "abc-123"}, timeout=5
        )
        assert response.status_code == 200
        assert response.json() == {"ok": True, "request_id": "abc-123"}
        with httpx.Client(base_url=upstream.url, timeout=5) as client:
            assert client.post("/ok?x=1", content=b"hi").json()["request_id"] is None
        first, second = upstream.wait_for_requests(2)
        assert upstream.errors == []
    assert (first.method, first.path, first.header("x-request-id")) == ("GET", "/ok", "abc-123")
    assert (second.method, second.query, second.body) == ("POST", {"x": "1"}, b"hi")


@pytest.mark.parametrize(
    ("path", "status", "retry_after"),
    [
        ("/status/500", 500, None),
        ("/status/503", 503, "7"),
        ("/status/429", 429, "7"),
        ("/status/429?retry_after=2", 429, "2"),
        ("/status/503?retry_after=", 503, None),
        ("/status/502?retry_after=1", 502, "1"),
    ],
)
def test_upstream_status(path: str, status: int, retry_after: str | None) -> None:
    with UpstreamServer() as upstream:
        response = requests.get(upstream.url + path, timeout=5)
        assert response.status_code == status
        assert response.headers.get("Retry-After") == retry_after
        assert str(status) in response.json()["message"]
        with httpx.Client(timeout=5) as client:
            answer = client.get(upstream.url + path)
        assert (answer.status_code, answer.headers.get("Retry-After")) == (status, retry_after)


def test_upstream_flaky_counts_per_key() -> None:
    with UpstreamServer() as upstream, httpx.Client(base_url=upstream.url, timeout=5) as client:
        codes = [client.get("/flaky?fail=2&key=a").status_code for _ in range(3)]
        assert codes == [503, 503, 200]
        assert client.get("/flaky?fail=2&key=b").status_code == 503


def test_upstream_reset_raises_connection_errors() -> None:
    with UpstreamServer() as upstream:
        with pytest.raises(requests.ConnectionError):
            requests.get(upstream.url + "/reset", timeout=5)
        with httpx.Client(timeout=5) as client, pytest.raises(httpx.TransportError):
            client.get(upstream.url + "/reset")
        for framing in ("length", "chunked"):
            url = f"{upstream.url}/reset-mid?framing={framing}"
            with pytest.raises(requests.RequestException):
                requests.get(url, timeout=5)
            with httpx.Client(timeout=5) as client, pytest.raises(httpx.TransportError):
                client.get(url)
        assert upstream.errors == []


def test_upstream_hang_times_out_and_does_not_block_stop() -> None:
    with UpstreamServer() as upstream:
        with pytest.raises(requests.Timeout):
            requests.get(upstream.url + "/hang", timeout=0.5)
        with httpx.Client(timeout=0.5) as client, pytest.raises(httpx.ReadTimeout):
            client.get(upstream.url + "/hang")
        # One more hanging request still open while stopping.
        hanging = socket.create_connection(("127.0.0.1", upstream.port), timeout=5)
        with hanging:
            hanging.sendall(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
            upstream.wait_for_requests(3)
            started = time.monotonic()
            upstream.stop()
            assert time.monotonic() - started < 2
            assert hanging.recv(100) == b""  # closed without an answer
    assert upstream.errors == []


def test_upstream_slow_answers_after_delay() -> None:
    with UpstreamServer() as upstream, httpx.Client(timeout=5) as client:
        started = time.monotonic()
        response = client.get(upstream.url + "/slow?seconds=0.3")
        assert response.status_code == 200
        assert time.monotonic() - started >= 0.3
        with pytest.raises(httpx.ReadTimeout):
            client.get(upstream.url + "/slow?seconds=2", timeout=0.2)


def test_refused_url() -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(refused_url("/x"), timeout=2)
    with httpx.Client(timeout=2) as client, pytest.raises(httpx.ConnectError):
        client.get(refused_url())
