"""What the test servers share: a port, a temp dir with the log, start/stop/kill by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import typing as t
import weakref
from pathlib import Path

from .ports import ServerStartError
from .ports import free_port
from .processes import send_signal
from .processes import spawn
from .processes import stop_process
from .processes import tell_watchdog

if t.TYPE_CHECKING:
    from types import TracebackType

_S = t.TypeVar("_S", bound="Managed")
_P = t.TypeVar("_P", bound="ServerProcess")


class Managed:
    """A server (or a group of them) used as a context manager: started on
    entering, closed on leaving, and closed when starting fails."""

    def start(self: _S) -> _S:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

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


class ServerProcess(Managed):
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
        tell_watchdog(f"+d {self._tmpdir}")
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

    def start(self: _P) -> _P:
        """Start the server and wait until it answers (:class:`ServerStartError` if not)."""
        if self.is_running():
            raise RuntimeError(f"{self._kind} already runs as PID {self.pid}")
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            self._log_offset = len(self.log_text())
            self._process = spawn(self._argv(), cwd=self._cwd(), env=self._environ(), log=self._log)
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
            stop_process(self._live[0], timeout=timeout, sig=sig, also_continue=True)
            del self._live[0]

    def stop(self) -> None:
        """SIGTERM the PID, SIGKILL the process group after ``stop_timeout`` seconds."""
        self._end(timeout=self.stop_timeout, sig=signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the process group at once (a crash); the log stays readable."""
        self._end(timeout=0, sig=signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: connections are still accepted (by the kernel) but never answered."""
        send_signal(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT after :meth:`pause`."""
        send_signal(self.pid, signal.SIGCONT)

    def restart(self: _P) -> _P:
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


def flatten(options: t.Mapping[str, str]) -> list[str]:
    """``{"--port": "1"}`` -> ``["--port", "1"]``."""
    return [item for pair in options.items() for item in pair]


def _cleanup(tmpdir: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL what still runs, delete the temp dir and tell the watchdog it is gone."""
    for process in processes:
        stop_process(process, timeout=0, sig=signal.SIGKILL)
    shutil.rmtree(tmpdir, ignore_errors=True)
    tell_watchdog(f"-d {tmpdir}")
