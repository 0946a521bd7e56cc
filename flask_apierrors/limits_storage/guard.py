"""The outage policy of every limit storage: one :class:`StorageGuard` per
storage location and process.

When a call fails, the guard logs one WARNING, then lets requests through
(fail-open, the default) or answers them with :class:`StorageUnavailable`
(fail-closed, a JSON 503 ``service_unavailable`` with ``Retry-After``). While
the outage lasts, calls skip the storage, and one call per ``retry_interval``
probes it, so a dead or hung Redis costs at most one socket timeout per
interval. The first call that succeeds ends the outage and logs one INFO line.

A call that must not be lost (giving back a concurrency slot) is *kept* when
it fails or is skipped: the guard holds it, with the time after which it no
longer matters, and runs it again before the next call that reaches the
storage. So a slot released during an outage is freed as soon as the storage
answers, not when it expires. At most ``max_pending`` calls are kept per
guard; past that the oldest are dropped (they expire first anyway).

The concurrency limiter calls its storage through a guard, and the
rate-limit feature passes flask-limiter's ``limits`` storage through the same
guards (:mod:`flask_apierrors.ratelimit.guard` says why flask-limiter's own
``swallow_errors`` and ``in_memory_fallback`` do not do this).
"""

from __future__ import annotations

import collections
import logging
import math
import re
import threading
import time
import typing as t

from ..errors import ApiError

logger = logging.getLogger("flask_apierrors.limits")

T = t.TypeVar("T")

#: A kept call: the operation, its arguments, the exceptions that mean the
#: storage failed, and when (``time.monotonic()``) it stops mattering.
_Kept = tuple[t.Callable[..., object], tuple[t.Any, ...], tuple[type[BaseException], ...], float]


class StorageUnavailable(ApiError):
    """503 ``service_unavailable``: a limiter's storage cannot be reached and
    the app fails closed. The body says when to retry, nothing about the
    storage.

    :param retry_after: Seconds until the storage is tried again (at least 1).
    """

    error_code = "service_unavailable"
    status = 503
    message = "Service temporarily unavailable"

    def __init__(self, retry_after: int) -> None:
        seconds = max(1, int(retry_after))
        super().__init__(details={"retry_after": seconds}, headers={"Retry-After": str(seconds)})
        self.retry_after = seconds


class StorageGuard:
    """The health of one storage location, as this process sees it.

    :param name: How log lines name the storage (``"Redis 127.0.0.1:6379/0"``).
    :param retry_interval: Seconds between probes while the storage is down.
    :param max_pending: How many kept calls (:meth:`keep`) wait at most.
    """

    def __init__(self, name: str, *, retry_interval: float = 1.0, max_pending: int = 1024) -> None:
        self.name = name
        self.retry_interval = retry_interval
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._skipped = 0
        self._pending: collections.deque[_Kept] = collections.deque()
        self._dropped = 0
        #: What failed (as logged), and the policies told of it, this outage.
        self._cause = ""
        self._told: set[bool] = set()

    @property
    def pending(self) -> int:
        """How many kept calls wait for the storage to answer."""
        return len(self._pending)

    @property
    def down(self) -> bool:
        """Whether an outage is going on."""
        return self._down_since is not None

    def run(
        self,
        op: t.Callable[..., T],
        args: tuple[t.Any, ...],
        fallback: t.Callable[[], T],
        *,
        fail_open: bool,
        errors: tuple[type[BaseException], ...],
        refuse: bool = True,
        keep: float = 0.0,
    ) -> T:
        """Run ``op(*args)`` against the storage.

        :param fallback: What to return instead when the storage fails or is
            skipped, unless the request is refused.
        :param fail_open: The app's policy: let requests through (``True``)
            or refuse them.
        :param errors: The exceptions that mean "the storage failed"; others
            propagate (they are bugs, not outages).
        :param refuse: Whether this call may refuse the request at all
            (``False`` for releases, and for reads once the answer is given).
        :param keep: If positive, a failed or skipped ``op`` is kept and run
            again when the storage answers, for up to ``keep`` seconds
            (:meth:`keep`). Only for calls that may run twice.
        :raises StorageUnavailable: the storage failed or is skipped,
            ``fail_open`` is false and ``refuse`` is true.
        """
        if self._down_since is None or self._claim_probe():
            # Kept calls go first: a slot released during the outage is free
            # before the next acquire counts the slots.
            failure = self._run_kept() if self._pending else None
            if failure is None:
                try:
                    result = op(*args)
                except errors as exc:
                    failure = exc
                else:
                    if self._down_since is not None:
                        self._recovered()
                    return result
            self._failed(failure)
        if keep > 0:
            self.keep(op, args, keep, errors)
        self._tell(fail_open)
        return self._unavailable(fallback, fail_open or not refuse)

    def keep(
        self,
        op: t.Callable[..., object],
        args: tuple[t.Any, ...],
        seconds: float,
        errors: tuple[type[BaseException], ...],
    ) -> None:
        """Run ``op(*args)`` before the next call that reaches the storage
        (and until it succeeds), unless ``seconds`` pass first. Keeps at
        most :attr:`max_pending` calls, dropping the oldest."""
        with self._lock:
            now = time.monotonic()
            pending = self._pending
            while pending and pending[0][3] <= now:
                pending.popleft()
            while len(pending) >= max(1, self.max_pending):
                pending.popleft()
                self._dropped += 1
            pending.append((op, args, errors, now + seconds))

    def _run_kept(self) -> BaseException | None:
        """Run the kept calls, oldest first; the failure that stopped them,
        if one did (that call stays kept)."""
        while True:
            with self._lock:
                if not self._pending:
                    return None
                kept = self._pending.popleft()
            op, args, errors, expires = kept
            if expires <= time.monotonic():
                continue  # the storage expired what it was for
            try:
                op(*args)
            except errors as exc:
                with self._lock:
                    self._pending.appendleft(kept)
                return exc

    def _claim_probe(self) -> bool:
        # During an outage one caller per interval tries the storage; the
        # others skip it, so only that one can wait for a socket timeout.
        with self._lock:
            now = time.monotonic()
            if self._down_since is None:
                return True
            if now >= self._next_probe:
                self._next_probe = now + self.retry_interval
                return True
            self._skipped += 1
            return False

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            self._next_probe = now + self.retry_interval
            if self._down_since is None:
                self._down_since = now
                self._skipped = 0
                self._cause = _failure(exc)
                self._told.clear()
            else:
                self._skipped += 1

    def _tell(self, fail_open: bool) -> None:
        """One WARNING per outage for each policy of the apps that met it
        (apps sharing a storage may differ)."""
        with self._lock:
            if fail_open in self._told or self._down_since is None:
                return
            self._told.add(fail_open)
        logger.warning(
            "Limit storage %s %s: requests %s until it answers again; retrying every %gs",
            self.name,
            self._cause,
            "pass unchecked (fail-open)" if fail_open else "get 503 (fail-closed)",
            self.retry_interval,
        )

    def _recovered(self) -> None:
        with self._lock:
            since, self._down_since = self._down_since, None
            skipped, self._skipped = self._skipped, 0
            dropped, self._dropped = self._dropped, 0
        if since is not None:
            logger.info(
                "Limit storage %s answers again after %.1fs (%d calls skipped it meanwhile%s)",
                self.name,
                time.monotonic() - since,
                skipped,
                f"; {dropped} kept calls dropped, over {self.max_pending}" if dropped else "",
            )

    def _unavailable(self, fallback: t.Callable[[], T], fail_open: bool) -> T:
        if fail_open:
            return fallback()
        wait = math.ceil(self._next_probe - time.monotonic())
        raise StorageUnavailable(max(1, wait)) from None


#: An error code a Redis reply starts with (``MISCONF``, ``BUSY``,
#: ``READONLY``): safe to log, unlike the rest of the reply.
_REPLY_CODE: t.Final = re.compile(r"[A-Z][A-Z_]{1,31}")


def _failure(exc: BaseException) -> str:
    """How the outage WARNING says what failed: the error code of a Redis
    error reply (``replies MISCONF``), else the exception's type
    (``is unreachable (ConnectionError)``). Nothing else of the message."""
    # redis-py keeps the code of the replies it has a class for (READONLY,
    # LOADING, NOAUTH) in status_code; a plain ResponseError (MISCONF, BUSY)
    # starts its message with it.
    code = getattr(exc, "status_code", None)
    if not isinstance(code, str) and type(exc).__name__ == "ResponseError" and exc.args:
        code = str(exc.args[0]).partition(" ")[0]
    if isinstance(code, str) and _REPLY_CODE.fullmatch(code):
        return f"replies {code}"
    if any(c.__name__ == "ResponseError" for c in type(exc).__mro__):
        # redis-py before 7.2 keeps no code for its reply classes.
        return f"replies an error ({type(exc).__name__})"
    return f"is unreachable ({type(exc).__name__})"


_GUARDS: dict[str, StorageGuard] = {}
_GUARDS_LOCK = threading.Lock()


def guard_for(location: str, *, retry_interval: float = 1.0) -> StorageGuard:
    """The process-wide :class:`StorageGuard` of ``location``, created on first
    use. Limiters that share a storage location share its guard: one outage,
    one WARNING, one probe."""
    with _GUARDS_LOCK:
        guard = _GUARDS.get(location)
        if guard is None:
            guard = _GUARDS[location] = StorageGuard(location, retry_interval=retry_interval)
        return guard
