"""gunicorn serving an app of this repository on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import typing as t
from pathlib import Path

from .ports import LOOPBACK
from .ports import ServerStartError
from .ports import wait_for_http
from .processes import child_pids
from .server_process import ServerProcess
from .server_process import flatten

#: The repository root: gunicorn runs here so ``tests.*`` and ``example_app`` import.
REPO_ROOT = Path(__file__).resolve().parents[2]


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


class GunicornServer(ServerProcess):
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
        argv = [*gunicorn_command(), *flatten(options)]
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
