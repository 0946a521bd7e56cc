"""A load generator for the gunicorn part: ``wrk`` when it is installed, else
a bounded Python client (threads, one connection per request, a fixed
duration)."""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
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


def status_of(url: str) -> int:
    """The status one GET of ``url`` answers."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def measure(url: str, seconds: float) -> tuple[int, float]:
    """(status of the path, requests per second) over ``seconds``. The status
    is the one of the 8th request: by then every worker has used up a
    ``1 per day`` limit."""
    for _ in range(8):
        status = status_of(url)
    path = wrk_path()
    if path is not None:
        return status, _wrk(path, url, seconds)
    return status, _python_client(url, seconds)


def _wrk(path: str, url: str, seconds: float) -> float:
    result = subprocess.run(
        [path, "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1))


def _python_client(url: str, seconds: float) -> float:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    host, port, target = parts.hostname, parts.port, parts.path or "/"
    deadline = time.monotonic() + seconds
    counts = [0] * CONNECTIONS

    def worker(index: int) -> None:
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection(host, port, timeout=10)
            try:
                conn.request("GET", target)
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
