"""Giving slots back: when the WSGI server closes the response, however the
request ended.

:class:`SlotReleaser` wraps ``app.wsgi_app`` and puts a :class:`Held` (the
slots the request takes) in the request's WSGI environ; the response body it
returns releases them in ``close()``, which the server calls after the last
byte, when the client went away, and after error responses. A request that
does not pass through the middleware (a ``test_request_context``, a slot
taken after the body was handed over) keeps its slots under another environ
key, released when the request context ends. Nothing is kept on ``g``: a test
suite that pushes an app context keeps one ``g`` across its requests.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
import typing as t

from flask import request

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

    from .settings import AppLimits

#: The WSGI environ key of the slots a request holds (:class:`Held`).
ENVIRON_KEY: t.Final = "flask_apierrors.concurrency_slots"
#: The environ key of slots released when the request context ends.
TEARDOWN_KEY: t.Final = "flask_apierrors.concurrency_slots_at_teardown"


@dataclasses.dataclass(slots=True)
class Slot:
    """One slot a request holds in one limiter's storage."""

    limits: AppLimits
    key: str
    member: str

    def release(self) -> None:
        # Kept when the storage fails or is skipped: released once it answers
        # again (a member is unique to its request, so releasing it twice
        # frees no one else's slot).
        limits = self.limits
        limits.run(limits.storage.release, (self.key, self.member), _nothing, keep=True)

    def refresh(self) -> None:
        limits = self.limits
        limits.run(limits.storage.refresh, (self.key, self.member, limits.ttl), _nothing)


def _nothing() -> None:
    return None


def acquire_slot(limits: AppLimits, key: str, member: str, limit: int) -> tuple[bool, int] | None:
    """Take a slot for ``member`` through the guard: ``(acquired, count)``,
    or ``None`` when the storage is down and the app fails open."""
    return limits.run(_acquire, (limits, key, member, limit), _nothing, refuse=True)


def _acquire(limits: AppLimits, key: str, member: str, limit: int) -> tuple[bool, int]:
    storage = limits.storage
    try:
        return storage.acquire(key, member, limit, limits.ttl)
    except BaseException:
        # A timed-out acquire may still run: Redis executes it once a slow
        # command ahead of it is done, and the request holds no slot to give
        # back; so may one a greenlet's timeout (gevent.Timeout, a
        # BaseException) cut short. Remove the member when the storage
        # answers again (a no-op if it never got there).
        limits.guard.keep(storage.release, (key, member), limits.ttl, storage.errors)
        raise


class Held:
    """The slots one request holds; released once, however the request ends."""

    __slots__ = ("_lock", "open", "slots")

    def __init__(self) -> None:
        self.slots: list[Slot] = []
        #: False once the middleware handed the response to the server
        #: without slots: later acquisitions are released at teardown.
        self.open = True
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            slots, self.slots = self.slots, []
        for slot in slots:
            slot.release()

    def refresh(self) -> None:
        for slot in list(self.slots):
            slot.refresh()


class _ReleasingIterable:
    """The response body, passed through; :meth:`close` (called by the server
    at the end of the response or when the client went away) releases the
    request's slots. Renews them while a long response streams."""

    def __init__(self, app_iter: t.Iterable[bytes], held: Held) -> None:
        self._app_iter = app_iter
        self._iter = iter(app_iter)
        self._held = held
        # Renewed every third of the shortest slot TTL.
        self._every = min((s.limits.ttl for s in held.slots), default=math.inf) / 3
        self._next_refresh = time.monotonic() + self._every

    def __iter__(self) -> _ReleasingIterable:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._iter)
        if time.monotonic() >= self._next_refresh:
            self._next_refresh = time.monotonic() + self._every
            self._held.refresh()
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self._app_iter, "close", None)
            if close is not None:
                close()
        finally:
            self._held.release()


class SlotReleaser:
    """WSGI middleware releasing the slots a request took when its response
    is closed (or when the app raised). :meth:`ConcurrencyLimiter.init_app`
    installs it around ``app.wsgi_app``."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        held = Held()
        environ[ENVIRON_KEY] = held
        try:
            app_iter = self.wsgi_app(environ, start_response)
        except BaseException:
            held.release()
            raise
        if not held.slots:
            # Nothing to release: hand the body over untouched (keeps
            # wsgi.file_wrapper responses zero-copy).
            held.open = False
            return app_iter
        return _ReleasingIterable(app_iter, held)


def held_slots() -> Held:
    """Where the current request keeps the slots it takes."""
    environ = request.environ
    held = environ.get(ENVIRON_KEY)
    if isinstance(held, Held) and held.open:
        return held
    # Not served through SlotReleaser (or the body was already handed over):
    # release when the request context ends.
    later = environ.get(TEARDOWN_KEY)
    if not isinstance(later, Held):
        later = environ[TEARDOWN_KEY] = Held()
    return later


def release_at_teardown(exc: BaseException | None) -> None:
    """The ``teardown_request`` hook: release what :func:`held_slots` kept
    for the end of the request context."""
    held = request.environ.pop(TEARDOWN_KEY, None)
    if isinstance(held, Held):
        held.release()
