"""A load generator for the gunicorn part: ``wrk`` when it is installed, else
a bounded Python client (threads, one connection per request, a fixed
duration)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import typing as t
import urllib.parse

#: Where Debian's package puts wrk.
WRK_PATHS: t.Final = ("/usr/bin/wrk", "/usr/local/bin/wrk")

#: Concurrent connections (wrk) or threads (Python client).
CONNECTIONS: t.Final = 8


def wrk_path() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    for path in WRK_PATHS:
        if shutil.which(path):
            return path
    return None


def tool_name() -> str:
    path = wrk_path()
    if path is None:
        return f"a Python client, {CONNECTIONS} threads"
    return f"wrk, 1 thread, {CONNECTIONS} connections"


#: The headers of a request with a body.
JSON_HEADERS: t.Final = {"Content-Type": "application/json"}


def status_of(url: str, body: bytes | None = None) -> int:
    """The status one GET of ``url`` (a POST of the JSON ``body``) answers."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        _send(conn, parts.path or "/", body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _send(conn: http.client.HTTPConnection, target: str, body: bytes | None) -> None:
    if body is None:
        conn.request("GET", target)
    else:
        conn.request("POST", target, body=body, headers=JSON_HEADERS)


def measure(url: str, seconds: float, body: bytes | None = None) -> tuple[int, float]:
    """(status of the path, requests per second) over ``seconds``; a POST of
    the JSON ``body`` when given. The status is the one of the 8th request:
    by then every worker has used up a ``1 per day`` limit."""
    for _ in range(8):
        status = status_of(url, body)
    path = wrk_path()
    if path is not None:
        return status, _wrk(path, url, seconds, body)
    return status, _python_client(url, seconds, body)


def _wrk(path: str, url: str, seconds: float, body: bytes | None = None) -> float:
    argv = [path, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s"]
    with tempfile.TemporaryDirectory() as tmp:
        if body is not None:
            script = f"{tmp}/post.lua"
            with open(script, "w", encoding="utf-8") as f:
                f.write(
                    'wrk.method = "POST"\n'
                    f"wrk.body = {json.dumps(body.decode())}\n"
                    'wrk.headers["Content-Type"] = "application/json"\n'
                )
            argv += ["-s", script]
        result = subprocess.run(
            [*argv, url],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1))


def _python_client(url: str, seconds: float, body: bytes | None = None) -> float:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    host, port, target = parts.hostname, parts.port, parts.path or "/"
    deadline = time.monotonic() + seconds
    counts = [0] * CONNECTIONS

    def worker(index: int) -> None:
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(host, port, timeout=10)
            try:
                _send(conn, target, body)
                conn.getresponse().read()
                counts[index] += 1
            finally:
                conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    return sum(counts) / (time.monotonic() - start)
