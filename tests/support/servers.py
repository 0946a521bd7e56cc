"""Real servers for tests: Redis and gunicorn, each on a free 127.0.0.1 port.

Each server runs in its own process group (``start_new_session``) and is stopped by its PID
(SIGTERM, then SIGKILL to the whole group after a bound). A watchdog process kills every
group still registered if the test process dies, so nothing outlives the test run.

.. code-block:: python

    with (
        RedisServer() as redis_server,
        GunicornServer(
            "tests.support.hello_app:app",
            workers=2,
            env={"REDIS_URL": redis_server.url},
        ) as web,
    ):
        httpx.get(web.url + "/")
"""

from __future__ import annotations

import atexit
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
import urllib.parse
import weakref
from pathlib import Path

import pytest

if t.TYPE_CHECKING:
    from types import TracebackType

#: The repository root: gunicorn runs here so ``tests.*`` and ``example_app`` import.
REPO_ROOT = Path(__file__).resolve().parents[2]

LOOPBACK = "127.0.0.1"

REDIS_SKIP_REASON = (
    "redis-server is not installed (CI installs it: apt-get install redis-server); "
    "looked on PATH and in /usr/bin, /usr/local/bin, /usr/sbin"
)

# One watchdog process per test session: its stdin is a pipe only this process writes to.
# Process groups ("+g PGID") and temp dirs ("+d PATH") are registered, and unregistered with
# "-"; when the pipe closes, because the test process exited or was killed (even by SIGKILL or
# os._exit), it SIGKILLs every group and deletes every dir still registered. Own session and
# SIGINT ignored: Ctrl-C must not kill it before the test process cleans up.
_WATCHDOG_SCRIPT = """\
import os, shutil, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
live = {"g": set(), "d": set()}
for line in sys.stdin:
    sign, kind, value = line[0], line[1], line[3:].rstrip("\\n")
    if sign == "+":
        live[kind].add(value)
    else:
        live[kind].discard(value)
for pgid in live["g"]:
    try:
        os.killpg(int(pgid), signal.SIGKILL)
    except OSError:
        pass
for path in live["d"]:
    shutil.rmtree(path, ignore_errors=True)
"""
_watchdog: subprocess.Popen[bytes] | None = None
_watchdog_lock = threading.Lock()
_watchdog_closed = threading.Event()

# How long a process may take to die after SIGKILL before we call it a bug.
_KILL_WAIT = 10.0


class ServerStartError(RuntimeError):
    """A server process exited or never answered; the message ends with its log."""


# -- ports ----------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _check_alive(process: subprocess.Popen[bytes] | None, what: str) -> None:
    if process is not None and process.poll() is not None:
        raise ServerStartError(f"{what}: process {process.pid} exited with {process.returncode}")


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
    deadline = time.monotonic() + timeout
    last_error: OSError | None = None
    while True:
        _check_alive(process, f"waiting for {host}:{port}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{host}:{port} did not accept within {timeout}s ({last_error!r})")
        try:
            with socket.create_connection((host, port), timeout=min(remaining, 1.0)):
                return
        except OSError as exc:
            last_error = exc
        time.sleep(0.02)


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
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        _check_alive(process, f"waiting for {url}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"{url} did not answer within {timeout}s ({last_error!r})")
        conn = http.client.HTTPConnection(
            parts.hostname, parts.port or 80, timeout=min(remaining, 2.0)
        )
        try:
            conn.request("GET", target, headers={"Connection": "close"})
            response = conn.getresponse()
            response.read()
            return response.status
        except (OSError, http.client.HTTPException) as exc:
            last_error = exc
        finally:
            conn.close()
        time.sleep(0.05)


# -- processes ------------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, ppid, pgrp) of ``pid`` from /proc, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()
    return fields[0], int(fields[1]), int(fields[2])


def _live_pids() -> t.Iterator[tuple[int, str, int, int]]:
    """(pid, state, ppid, pgrp) for every process that is not a zombie (Linux only)."""
    if not os.path.isdir("/proc/self"):
        return
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = _proc_stat(int(name))
        if stat is not None and stat[0] not in ("Z", "X"):
            yield int(name), *stat


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (or is stopped); zombies count as gone."""
    if os.path.isdir("/proc/self"):
        stat = _proc_stat(pid)
        return stat is not None and stat[0] not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pids_in_group(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (Linux; empty elsewhere)."""
    return sorted(pid for pid, _, _, pgrp in _live_pids() if pgrp == pgid)


def child_pids(pid: int) -> list[int]:
    """Live children of ``pid`` (Linux; empty elsewhere)."""
    return sorted(child for child, _, ppid, _ in _live_pids() if ppid == pid)


def _tell_watchdog(message: str) -> None:
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None:
            if message.startswith("-") or _watchdog_closed.is_set():
                return  # nothing registered (or already at interpreter exit)
            _watchdog = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _WATCHDOG_SCRIPT],
                stdin=subprocess.PIPE,
                start_new_session=True,
            )
            atexit.register(_stop_watchdog)
        assert _watchdog.stdin is not None
        try:
            _watchdog.stdin.write(f"{message}\n".encode())
            _watchdog.stdin.flush()
        except OSError:  # the watchdog is gone: nothing more we can do here
            pass


def _stop_watchdog() -> None:
    """At exit: close the pipe; the watchdog kills what is still registered and exits."""
    global _watchdog
    with _watchdog_lock:
        watchdog, _watchdog = _watchdog, None
        _watchdog_closed.set()
    if watchdog is None:
        return
    try:
        if watchdog.stdin is not None:
            watchdog.stdin.close()
    except OSError:
        pass
    try:
        watchdog.wait(timeout=5)
    except subprocess.TimeoutExpired:
        watchdog.kill()
        watchdog.wait()


def _spawn(
    argv: t.Sequence[str], *, cwd: str | os.PathLike[str], env: t.Mapping[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session (own process group), output appended to ``log``."""
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _tell_watchdog(f"+g {process.pid}")
    return process


def _signal(pid: int, sig: int, *, group: bool = False) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_process(
    process: subprocess.Popen[bytes],
    *,
    timeout: float,
    sig: int = signal.SIGTERM,
    also_continue: bool = False,
) -> None:
    """Send ``sig`` to the PID, wait up to ``timeout``, then SIGKILL its whole process group.

    The group kill also takes down children the main process left behind (gunicorn workers).
    """
    if process.poll() is None:
        _signal(process.pid, sig)
        if also_continue:  # a SIGSTOPped process only acts on SIGTERM once continued
            _signal(process.pid, signal.SIGCONT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    _signal(process.pid, signal.SIGKILL, group=True)
    try:
        process.wait(timeout=_KILL_WAIT)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"process {process.pid} survived SIGKILL for {_KILL_WAIT}s") from exc
    deadline = time.monotonic() + _KILL_WAIT
    while pids_in_group(process.pid) and time.monotonic() < deadline:
        _signal(process.pid, signal.SIGKILL, group=True)
        time.sleep(0.02)
    _tell_watchdog(f"-g {process.pid}")


_S = t.TypeVar("_S", bound="_ServerProcess")


class _ServerProcess:
    """What Redis and gunicorn share: a port, a temp dir with the log, start/stop/kill.

    Subclasses provide ``_argv``, ``_cwd``, ``_environ`` and ``_wait_ready``.
    """

    _kind = "server"

    def __init__(self, *, port: int | None, startup_timeout: float, stop_timeout: float) -> None:
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._fixed_port = port is not None
        self._port = port if port is not None else free_port()
        self._tmpdir = Path(tempfile.mkdtemp(prefix=f"test-{self._kind}-"))
        _tell_watchdog(f"+d {self._tmpdir}")
        self._log = self._tmpdir / f"{self._kind}.log"
        self._log.touch()
        self._log_offset = 0
        self._final_log: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        # Started and not yet stopped; the finalizer kills these if stop() is never called.
        self._live: list[subprocess.Popen[bytes]] = []
        self._finalizer = weakref.finalize(self, _cleanup, self._tmpdir, self._live)

    # -- to override ----------------------------------------------------------------------

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _cwd(self) -> Path:
        return self._tmpdir

    def _environ(self) -> dict[str, str]:
        return dict(os.environ)

    def _wait_ready(self) -> str | None:
        """None once the server answers, else why it is not up."""
        raise NotImplementedError

    # -- addresses and state --------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def tmpdir(self) -> Path:
        """Private working directory (removed by :meth:`close`)."""
        return self._tmpdir

    @property
    def pid(self) -> int:
        """PID of the server process (also its process group id)."""
        if self._process is None:
            raise RuntimeError(f"{self._kind} is not started; call start() or use `with`")
        return self._process.pid

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- log ------------------------------------------------------------------------------

    def log_text(self) -> str:
        """Everything the server printed so far (stdout and stderr), also after close()."""
        if self._final_log is not None:
            return self._final_log
        return self._log.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Wait until ``text`` appears in the log; return the whole log."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if text in log:
                return log
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{text!r} not in the {self._kind} log after {timeout}s:\n{log}")
            time.sleep(0.05)

    def _log_since_start(self) -> str:
        """What the current process printed (the log file spans restarts)."""
        return self.log_text()[self._log_offset :]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self: _S) -> _S:
        """Start the server and wait until it answers (:class:`ServerStartError` if not)."""
        if self.is_running():
            raise RuntimeError(f"{self._kind} already runs as PID {self.pid}")
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            self._log_offset = len(self.log_text())
            self._process = _spawn(
                self._argv(), cwd=self._cwd(), env=self._environ(), log=self._log
            )
            self._live.append(self._process)
            error = self._wait_ready()
            if error is None:
                return self
            self.kill()
            if attempt + 1 >= attempts or "in use" not in self._log_since_start():
                raise self._start_error(f"{self._kind} did not start on port {self._port}: {error}")
            self._port = free_port()  # another process took our free port meanwhile
        raise AssertionError("unreachable")

    def _start_error(self, message: str) -> ServerStartError:
        tail = "\n".join(self.log_text().splitlines()[-40:])
        return ServerStartError(f"{message}\n--- {self._kind} log ---\n{tail}")

    def _end(self, *, timeout: float, sig: int) -> None:
        # Signal only processes not yet reaped: a reaped PID may belong to someone else now.
        while self._live:
            _stop_process(self._live[0], timeout=timeout, sig=sig, also_continue=True)
            del self._live[0]

    def stop(self) -> None:
        """SIGTERM the PID, SIGKILL the process group after ``stop_timeout`` seconds."""
        self._end(timeout=self.stop_timeout, sig=signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the process group at once (a crash); the log stays readable."""
        self._end(timeout=0, sig=signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted (by the kernel) but never answered."""
        _signal(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        _signal(self.pid, signal.SIGCONT)

    def restart(self: _S) -> _S:
        """Stop (if running) and start again on the same port."""
        self.stop()
        fixed, self._fixed_port = self._fixed_port, True
        try:
            return self.start()
        finally:
            self._fixed_port = fixed

    def close(self) -> None:
        """Stop the server and delete its temp dir, keeping the log text in memory."""
        try:
            self.stop()
        finally:
            if self._final_log is None:
                self._final_log = self.log_text()
            self._finalizer()

    def __enter__(self: _S) -> _S:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _flatten(options: t.Mapping[str, str]) -> list[str]:
    return [item for pair in options.items() for item in pair]


def _cleanup(tmpdir: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        _stop_process(process, timeout=0, sig=signal.SIGKILL)
    shutil.rmtree(tmpdir, ignore_errors=True)
    _tell_watchdog(f"-d {tmpdir}")


# -- Redis ----------------------------------------------------------------------------------


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


class RedisServer(_ServerProcess):
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
        return [self.executable, *_flatten(options), *self.extra_args]

    def _wait_ready(self) -> str | None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                return f"exited with {self.returncode}"
            if redis_ping(self._port, timeout=0.5):
                return None
            time.sleep(0.02)
        return f"no answer to PING in {self.startup_timeout}s"


# -- gunicorn -------------------------------------------------------------------------------


def gunicorn_command() -> list[str]:
    """The gunicorn next to ``sys.executable`` (the venv's), else ``python -m gunicorn``."""
    candidate = Path(sys.executable).parent / "gunicorn"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return [str(candidate)]
    return [sys.executable, "-m", "gunicorn"]


_GUNICORN_FLAGS: dict[str, bool] = {}


def _gunicorn_supports(flag: str) -> bool:
    """Whether this gunicorn knows ``flag`` (asked once per flag via ``--help``)."""
    if flag not in _GUNICORN_FLAGS:
        result = subprocess.run(
            [*gunicorn_command(), "--help"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        _GUNICORN_FLAGS[flag] = flag in result.stdout
    return _GUNICORN_FLAGS[flag]


class GunicornServer(_ServerProcess):
    """gunicorn serving ``app`` (``"module:variable"``) on 127.0.0.1, cwd = repository root.

    Up means ``health_path`` answered with any HTTP status. Stopping sends SIGTERM to the master
    PID (workers get ``graceful_timeout`` seconds), then SIGKILL to the process group.

    :param config: gunicorn config file; default: an empty one, so a stray
        ``./gunicorn.conf.py`` is never picked up. Command-line options win over it.
    :param env: extra environment variables (on top of ``os.environ``).
    """

    _kind = "gunicorn"

    def __init__(
        self,
        app: str,
        *,
        workers: int = 1,
        worker_class: str = "sync",
        threads: int = 1,
        timeout: int = 30,
        graceful_timeout: int = 3,
        extra_args: t.Sequence[str] = (),
        env: t.Mapping[str, str] | None = None,
        config: str | os.PathLike[str] | None = None,
        health_path: str = "/",
        port: int | None = None,
        cwd: str | os.PathLike[str] = REPO_ROOT,
        startup_timeout: float = 30.0,
        stop_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.timeout = timeout
        self.graceful_timeout = graceful_timeout
        self.extra_args = tuple(extra_args)
        self.env = dict(env or {})
        self.health_path = health_path if health_path.startswith("/") else f"/{health_path}"
        self.cwd = Path(cwd)
        if stop_timeout is None:
            stop_timeout = graceful_timeout + 5.0
        super().__init__(port=port, startup_timeout=startup_timeout, stop_timeout=stop_timeout)
        if config is None:
            config = self.tmpdir / "gunicorn.conf.py"
            Path(config).write_text("# empty: everything comes from the command line\n")
        self.config = Path(config)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` without a trailing slash."""
        return f"http://{LOOPBACK}:{self._port}"

    def _argv(self) -> list[str]:
        options = {
            "--config": str(self.config),
            "--bind": f"{LOOPBACK}:{self._port}",
            "--workers": str(self.workers),
            "--worker-class": self.worker_class,
            "--threads": str(self.threads),
            "--timeout": str(self.timeout),
            "--graceful-timeout": str(self.graceful_timeout),
            "--chdir": str(self.cwd),
            "--error-logfile": "-",
        }
        argv = [*gunicorn_command(), *_flatten(options)]
        # Newer gunicorn opens a control socket at one fixed path in $HOME: parallel servers
        # would fight over it.
        if _gunicorn_supports("--no-control-socket"):
            argv.append("--no-control-socket")
        return [*argv, *self.extra_args, self.app]

    def _cwd(self) -> Path:
        return self.cwd

    def _environ(self) -> dict[str, str]:
        environ = dict(os.environ)
        pythonpath = [str(self.cwd), *filter(None, environ.get("PYTHONPATH", "").split(os.pathsep))]
        environ["PYTHONPATH"] = os.pathsep.join(pythonpath)
        environ["PYTHONUNBUFFERED"] = "1"
        environ.update(self.env)
        return environ

    def _wait_ready(self) -> str | None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if not self.is_running():
                return f"exited with {self.returncode}"
            if "Connection in use" in self._log_since_start():
                return "address in use"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return f"{self.url}{self.health_path} did not answer in {self.startup_timeout}s"
            try:
                wait_for_http(
                    self.url + self.health_path, min(remaining, 0.5), process=self._process
                )
            except (TimeoutError, ServerStartError):
                continue
            return None

    def worker_pids(self) -> list[int]:
        """PIDs of the live worker processes (children of the master; Linux only)."""
        return child_pids(self.pid)

    def wait_for_workers(self, count: int, timeout: float = 10.0) -> list[int]:
        """Wait until exactly ``count`` workers run; return their PIDs."""
        deadline = time.monotonic() + timeout
        while True:
            pids = self.worker_pids()
            if len(pids) == count:
                return pids
            if time.monotonic() >= deadline:
                raise TimeoutError(f"expected {count} gunicorn workers, have {pids}")
            time.sleep(0.05)
