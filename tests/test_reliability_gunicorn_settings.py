"""gunicorn settings the deployment docs describe, each on its own server:
raised request limits let Flask answer, and what ``--timeout`` does (and
does not) bound for gthread and sync workers."""

from __future__ import annotations

import socket
import time

import pytest
import requests

from .support.servers import GunicornServer
from .test_reliability_faults import check_json_error
from .test_reliability_gunicorn import APP
from .test_reliability_gunicorn import _get

pytestmark = pytest.mark.slow


def test_limits_are_configurable() -> None:
    extra = [
        "--limit-request-line",
        "8190",
        "--limit-request-fields",
        "200",
        "--limit-request-field_size",
        "16380",
    ]
    with GunicornServer(APP, workers=1, extra_args=extra, health_path="/ok") as srv:
        long_line = _get(srv.port, b"GET /x?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        many = _get(
            srv.port,
            b"GET /x HTTP/1.1\r\nHost: x\r\n"
            + b"".join(b"X-H%d: 1\r\n" % i for i in range(150))
            + b"\r\n",
        )
        big = _get(srv.port, b"GET /x HTTP/1.1\r\nHost: x\r\nX-Note: " + b"a" * 12000 + b"\r\n\r\n")
    # Now Flask answers them: the JSON 404 with a correlation id.
    for response in (long_line, many, big):
        data = check_json_error(response.status, response.headers, response.body, 404)
        assert data["error"] == "not_found"


def test_a_slow_client_holds_a_gthread_thread_past_the_timeout() -> None:
    # docs/deployment: --timeout does not bound a gthread thread waiting for a
    # client, so slow clients need a buffering proxy in front.
    with GunicornServer(
        APP, workers=1, worker_class="gthread", threads=1, timeout=2, health_path="/ok"
    ) as srv:
        slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        try:
            slow.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n")  # headers never finished
            time.sleep(0.5)
            with pytest.raises(requests.exceptions.Timeout):
                requests.get(srv.url + "/ok", timeout=4)  # twice the worker timeout
        finally:
            slow.close()
        assert requests.get(srv.url + "/ok", timeout=10).status_code == 200


def test_a_sync_worker_past_its_timeout_answers_gunicorns_html() -> None:
    # docs/deployment: a sync worker killed at --timeout answers gunicorn's
    # HTML 500 (or drops the connection), never a JSON body.
    with GunicornServer(APP, workers=1, timeout=2, health_path="/ok") as srv:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=15) as slow:
            slow.sendall(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Length: 100\r\n\r\n{"
            )
            received = b""
            try:
                while chunk := slow.recv(65536):
                    received += chunk
            except ConnectionResetError:
                pass
        assert received == b"" or received.startswith(b"HTTP/1.1 500 ")
        assert b"application/json" not in received
        assert requests.get(srv.url + "/ok", timeout=10).status_code == 200
