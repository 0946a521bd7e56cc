"""A throw-away ``redis-server`` on a free 127.0.0.1 port, and markers that skip a test when
redis-server is not installed."""

from __future__ import annotations

import os
import shutil
import socket
import time
import typing as t

import pytest

from .ports import LOOPBACK
from .server_process import ServerProcess
from .server_process import flatten

REDIS_SKIP_REASON = (
    "redis-server is not installed (CI installs it: apt-get install redis-server); "
    "looked on PATH and in /usr/bin, /usr/local/bin, /usr/sbin"
)


def redis_server_executable() -> str | None:
    """Path of ``redis-server`` (PATH, then the usual system dirs), or None."""
    found = shutil.which("redis-server")
    if found:
        return os.path.abspath(found)
    for candidate in (
        "/usr/bin/redis-server",
        "/usr/local/bin/redis-server",
        "/usr/sbin/redis-server",
    ):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


#: Mark a test (or module: ``pytestmark = requires_redis``) to skip only without redis-server.
requires_redis = pytest.mark.skipif(redis_server_executable() is None, reason=REDIS_SKIP_REASON)


def skip_without_redis() -> str:
    """Return the redis-server path, or skip the calling test with a clear reason."""
    path = redis_server_executable()
    if path is None:
        pytest.skip(REDIS_SKIP_REASON)
    return path


def redis_ping(port: int, timeout: float = 1.0, *, host: str = LOOPBACK) -> bool:
    """True if a Redis on ``host:port`` answers PING within ``timeout`` (raw RESP, no client)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer(ServerProcess):
    """A throw-away ``redis-server`` on 127.0.0.1 without persistence.

    :meth:`pause`/:meth:`resume` make it accept connections but never answer; :meth:`kill`
    simulates a crash; :meth:`restart` brings it back on the same port with an empty dataset.

    :param port: fixed port; default: a free one (retried if another process grabs it).
    :param executable: redis-server to run; default: :func:`redis_server_executable`, and
        the calling test is skipped if there is none.
    :param extra_args: more ``--option value`` arguments for redis-server.
    """

    _kind = "redis"

    def __init__(
        self,
        *,
        port: int | None = None,
        executable: str | None = None,
        extra_args: t.Sequence[str] = (),
        startup_timeout: float = 10.0,
        stop_timeout: float = 5.0,
    ) -> None:
        self.executable = executable or skip_without_redis()
        self.extra_args = tuple(extra_args)
        super().__init__(port=port, startup_timeout=startup_timeout, stop_timeout=stop_timeout)

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT`` (append ``/N`` for database N)."""
        return f"redis://{LOOPBACK}:{self._port}"

    def ping(self, timeout: float = 1.0) -> bool:
        return redis_ping(self._port, timeout)

    def _argv(self) -> list[str]:
        options = {
            "--port": str(self._port),
            "--bind": LOOPBACK,
            "--save": "",
            "--appendonly": "no",
            "--daemonize": "no",
            "--dir": str(self.tmpdir),
            "--logfile": "",  # stdout, i.e. log_text()
        }
        return [self.executable, *flatten(options), *self.extra_args]

    def _wait_ready(self) -> str | None:
        return wait_for_ping(self)


def wait_for_ping(server: ServerProcess) -> str | None:
    """Wait until ``server`` (a redis-server, in any role) answers PING;
    ``None`` when it does, else why not."""
    deadline = time.monotonic() + server.startup_timeout
    while time.monotonic() < deadline:
        if not server.is_running():
            return f"exited with {server.returncode}"
        if redis_ping(server.port, timeout=0.5):
            return None
        time.sleep(0.02)
    return f"no answer to PING in {server.startup_timeout}s"
