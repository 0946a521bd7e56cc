"""Warnings when an app is set up, or at the first request a process serves,
about limits that cannot work as configured: counts kept in one process's
memory while several worker processes serve the app, and Redis clients
that can keep a request waiting without bound.

Several worker processes are recognised by the WSGI environ's
``wsgi.multiprocess`` (gunicorn sets it when it runs more than one worker;
uWSGI with several processes too), known at the first request; before that,
by ``WEB_CONCURRENCY`` above 1 in the environment (the worker count gunicorn
and other servers read by default). Each warning is logged once per app and
process, on the ``flask_apierrors.limits`` logger.
"""

from __future__ import annotations

import logging
import os
import threading
import typing as t

from ..state import find_state

if t.TYPE_CHECKING:
    from flask import Flask

__all__ = ["at_first_request", "several_workers", "warn_memory", "warn_once"]

logger = logging.getLogger("flask_apierrors.limits")

#: ``app.extensions`` key: the warnings already logged for the app.
_WARNED_KEY: t.Final = "apierrors_limits_warned"
_LOCK = threading.Lock()


def several_workers(environ: t.Mapping[str, t.Any] | None = None) -> str | None:
    """Why several worker processes are believed to serve the app, or
    ``None``: ``"wsgi.multiprocess"`` when the request's WSGI ``environ``
    says so, else ``"WEB_CONCURRENCY=N"`` when the environment asks for more
    than one worker."""
    if environ is not None and environ.get("wsgi.multiprocess"):
        return "wsgi.multiprocess"
    value = os.environ.get("WEB_CONCURRENCY", "")
    try:
        workers = int(value)
    except ValueError:
        return None
    return f"WEB_CONCURRENCY={workers}" if workers > 1 else None


def warn_once(app: Flask, message: str) -> bool:
    """Log ``message`` as a WARNING unless it was logged for ``app`` already
    (in this process: a forked worker keeps what its parent logged).

    :returns: whether it was logged now.
    """
    with _LOCK:
        warned: set[str] = app.extensions.setdefault(_WARNED_KEY, set())
        if message in warned:
            return False
        warned.add(message)
    logger.warning("%s", message)
    return True


def warn_memory(
    app: Flask, what: str, fix: str, environ: t.Mapping[str, t.Any] | None = None
) -> bool:
    """Warn that ``what`` counts in this process's memory, if several worker
    processes serve ``app`` (:func:`several_workers`).

    :param fix: The sentence that says what to configure instead.
    :returns: whether a warning was logged now.
    """
    why = several_workers(environ)
    if why is None:
        return False
    return warn_once(
        app,
        f"{what} counts in this process's memory, but several worker processes serve"
        f" this app ({why}): each counts on its own, so a client gets up to that many"
        f" times the limit. {fix}",
    )


def at_first_request(app: Flask, check: t.Callable[[t.Mapping[str, t.Any]], None]) -> None:
    """Run ``check(environ)`` at the first request each process serves; call
    at setup. With ApiErrors on the app, its first-request callbacks do it at
    no cost to later requests; without, a ``before_request`` function that
    does nothing afterwards.
    """
    state = find_state(app)
    if state is not None:
        state.on_first_request(lambda st: check(st.first_environ))
        return
    done = False

    def first_request_check() -> None:
        nonlocal done
        if done:
            return
        done = True
        from flask import request

        check(request.environ)

    app.before_request(first_request_check)
