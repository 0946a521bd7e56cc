"""Ports of test servers: a free loopback port, and waiting until a server accepts or answers
(failing at once if its process exits)."""

from __future__ import annotations

import http.client
import socket
import subprocess
import time
import typing as t
import urllib.parse

LOOPBACK = "127.0.0.1"

_T = t.TypeVar("_T")


class ServerStartError(RuntimeError):
    """A server process exited or never answered; the message ends with its log."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _check_alive(process: subprocess.Popen[bytes] | None, what: str) -> None:
    if process is not None and process.poll() is not None:
        raise ServerStartError(f"{what}: process {process.pid} exited with {process.returncode}")


def _poll(
    what: str,
    timeout: float,
    attempt: t.Callable[[float], _T],
    *,
    process: subprocess.Popen[bytes] | None,
    errors: tuple[type[Exception], ...],
    verb: str,
    interval: float,
) -> _T:
    """Return ``attempt(seconds left)`` once it stops raising one of ``errors``.

    :param process: fail at once (:class:`ServerStartError`) if this process exits.
    :raises TimeoutError: ``what`` did not ``verb`` within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        _check_alive(process, f"waiting for {what}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{what} did not {verb} within {timeout}s ({last_error!r})")
        try:
            return attempt(remaining)
        except errors as exc:
            last_error = exc
        time.sleep(interval)


def wait_for_port(
    port: int,
    timeout: float = 10.0,
    *,
    host: str = LOOPBACK,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Wait until ``host:port`` accepts a TCP connection.

    :param process: fail at once (:class:`ServerStartError`) if this process exits.
    :raises TimeoutError: nothing accepted within ``timeout`` seconds.
    """

    def connect(remaining: float) -> None:
        with socket.create_connection((host, port), timeout=min(remaining, 1.0)):
            return

    _poll(
        f"{host}:{port}",
        timeout,
        connect,
        process=process,
        errors=(OSError,),
        verb="accept",
        interval=0.02,
    )


def wait_for_http(
    url: str,
    timeout: float = 10.0,
    *,
    process: subprocess.Popen[bytes] | None = None,
) -> int:
    """Wait until ``url`` answers a GET with any HTTP status, and return that status.

    :param process: fail at once (:class:`ServerStartError`) if this process exits.
    :raises TimeoutError: no HTTP answer within ``timeout`` seconds.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or parts.hostname is None:
        raise ValueError(f"wait_for_http needs an http:// URL with a host, got {url!r}")
    hostname = parts.hostname
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def get(remaining: float) -> int:
        conn = http.client.HTTPConnection(hostname, parts.port or 80, timeout=min(remaining, 2.0))
        try:
            conn.request("GET", target, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    return _poll(
        url,
        timeout,
        get,
        process=process,
        errors=(OSError, http.client.HTTPException),
        verb="answer",
        interval=0.05,
    )
