"""gunicorn settings of the example app::

    gunicorn -c example_app/gunicorn.conf.py example_app.wsgi:app

- binds 127.0.0.1:8000 (``GUNICORN_BIND``; ``--bind`` on the command line wins);
- ``WEB_CONCURRENCY`` workers of ``GUNICORN_THREADS`` threads (default 8):
  threads, so that event streams and slow upstream calls do not hold a whole
  worker. The default is 1 worker with in-memory limits (they are per
  process) and 2 with ``EXAMPLE_APP_RATELIMIT_STORAGE_URI`` set to Redis;
- the ``gthread`` worker, unless ``-k``/``--worker-class`` on the command
  line or in ``GUNICORN_CMD_ARGS`` chooses another. With ``sync`` the default
  is 1 thread: gunicorn runs ``gthread`` for ``sync`` with more threads, so
  only an explicit ``GUNICORN_THREADS`` or ``--threads`` above 1 does that;
- when ``EXAMPLE_APP_GENERATION_SERVICE_URL`` is not set, starts the local
  stand-in service (:mod:`example_app.standin`) on a free loopback port for
  the workers, and stops it with gunicorn;
- logs every line (its own, the access log, the app's) in the app's format
  (:mod:`example_app.logs`): time, level, logger, correlation id, error id;
- writes no file: no control socket (gunicorn 25.1+ would open one under
  ``$HOME/.gunicorn`` or ``$XDG_RUNTIME_DIR``), no pid file. The app keeps
  its data in its instance folder.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import typing as t

from gunicorn.config import Config

# gunicorn put the working directory (--chdir) on sys.path before reading this file.
from example_app.logs import logging_config


def _count(name: str, default: str) -> int:
    """The whole number >= 1 of environment variable ``name``; otherwise one
    line naming it, and gunicorn stops."""
    value = os.environ.get(name, default)
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 1024:
        print(
            f"example_app: {name} must be a whole number from 1 to 1024, not {value!r}.",
            file=sys.stderr,
        )
        raise SystemExit(1)
    return number


def _chosen_worker_class(default: str) -> str:
    """The worker class given to gunicorn by ``-k``/``--worker-class``: on
    the command line, else in ``GUNICORN_CMD_ARGS``, else ``default`` (the
    order in which gunicorn lets them win over this file). Read with
    gunicorn's own parser, which has already accepted the same arguments."""
    if __name__ != "__config__":
        # Not read by gunicorn (runpy in a test): sys.argv is another program's.
        return default
    parser = Config().parser()
    for args in (sys.argv[1:], shlex.split(os.environ.get("GUNICORN_CMD_ARGS", ""))):
        try:
            chosen = parser.parse_known_args(args)[0].worker_class
        except SystemExit:  # another program's arguments (gunicorn embedded)
            continue
        if chosen:
            return str(chosen)
    return default


def _is_sync(worker: str) -> bool:
    """Whether gunicorn takes ``worker`` for its sync worker (which it turns
    into ``gthread`` when there is more than one thread)."""
    return worker in ("sync", "egg:gunicorn#sync") or worker.endswith("SyncWorker")


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# In-memory limits are per process: one worker keeps them exact, unless a
# shared (Redis) storage is configured.
_shared_limits = os.environ.get("EXAMPLE_APP_RATELIMIT_STORAGE_URI", "memory://")
workers = _count("WEB_CONCURRENCY", "1" if _shared_limits == "memory://" else "2")
worker_class = "gthread"
# One thread for the sync worker, unless more are asked for: gunicorn would
# run gthread instead.
threads = _count("GUNICORN_THREADS", "1" if _is_sync(_chosen_worker_class(worker_class)) else "8")
timeout = 60
graceful_timeout = 10
accesslog = "-"
errorlog = "-"
logconfig_dict = logging_config()
# Older gunicorn ignores this setting, and opens no control socket anyway.
control_socket_disable = True

_SERVICE_URL = "EXAMPLE_APP_GENERATION_SERVICE_URL"
_standin: subprocess.Popen[str] | None = None


def _check_settings() -> None:
    """Build the app once in the master: a setting that cannot work stops
    gunicorn here with one line naming it, not with a traceback per worker."""
    from example_app import create_app

    try:
        create_app()
    except (ValueError, TypeError) as exc:
        print(f"example_app: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


def on_starting(server: t.Any) -> None:
    """Check the settings, then start the stand-in generation service unless
    a URL is configured."""
    global _standin
    _check_settings()
    if _SERVICE_URL in os.environ:
        return
    _standin = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "example_app.standin",
            "--port",
            "0",
            "--parent-pid",
            str(os.getpid()),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert _standin.stdout is not None
    line = _standin.stdout.readline()  # "stand-in service on http://127.0.0.1:PORT"
    url = line.rpartition(" ")[2].strip()
    if not url.startswith("http://"):
        _standin.kill()
        raise RuntimeError(f"The stand-in service did not start: {line!r}")
    # Workers are forked after this hook: they inherit the URL.
    os.environ[_SERVICE_URL] = url
    server.log.info("Stand-in generation service on %s (pid %s)", url, _standin.pid)


def on_exit(server: t.Any) -> None:
    """Stop the stand-in service with gunicorn."""
    if _standin is not None and _standin.poll() is None:
        _standin.terminate()
        try:
            _standin.wait(5)
        except subprocess.TimeoutExpired:
            _standin.kill()
            _standin.wait()
