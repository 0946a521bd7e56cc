"""Retry-After of flask-limiter's 429s on a storage that rounds the window's
end as Redis does, on a clock that moves, and for a breach rendered outside a
request."""

from __future__ import annotations

import math

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_apierrors import ApiErrors

flask_limiter = pytest.importorskip("flask_limiter")
from flask_limiter import Limiter  # noqa: E402
from flask_limiter import RateLimitExceeded  # noqa: E402
from limits.storage import Storage  # noqa: E402

from flask_apierrors.ratelimit import convert  # noqa: E402
from flask_apierrors.ratelimit.guard import GuardedStorage  # noqa: E402
from tests.support.limiter_apps import DETAILS_ALL  # noqa: E402
from tests.support.limiter_apps import make_limited as _make  # noqa: E402

# -- Retry-After against a storage that rounds, on a clock that moves -------------------------


class Clock:
    """A clock that moves only when told (stands in for the ``time`` module)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


class RedisLikeStorage(Storage):
    """A fixed-window storage that reads a window's end as limits' Redis
    storage does: ``TTL``, which Redis rounds to the nearest second, plus the
    client's clock when the answer arrived. ``latency`` passes while Redis is
    asked, ``after`` once it answered (other reads, a busy process)."""

    STORAGE_SCHEME = None

    def __init__(self, clock: Clock, *, latency: float = 0.0, after: float = 0.0) -> None:
        super().__init__()
        self.clock = clock
        self.latency = latency
        self.after = after
        self.counts: dict[str, int] = {}
        self.ends: dict[str, float] = {}

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ConnectionError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if self.ends.get(key, 0.0) <= self.clock.now:
            self.counts[key] = 0
            self.ends[key] = self.clock.now + expiry
        self.counts[key] += amount
        return self.counts[key]

    def get(self, key: str) -> int:
        return self.counts.get(key, 0)

    def get_expiry(self, key: str) -> float:
        self.clock.now += self.latency / 2
        ttl = math.floor(self.ends[key] - self.clock.now + 0.5)  # Redis: (pttl + 500) / 1000
        self.clock.now += self.latency / 2
        end = max(ttl, 0) + self.clock.now  # limits: ttl + time.time()
        self.clock.now += self.after
        return end

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        return None

    def clear(self, key: str) -> None:
        self.counts.pop(key, None)


def _on_redis_like_storage(
    monkeypatch: pytest.MonkeyPatch, start: float, **timing: float
) -> tuple[FlaskClient, Clock]:
    clock = Clock(start)
    monkeypatch.setattr(convert, "time", clock)
    app, limiter = _make("2/minute", format="error", ratelimit_details=DETAILS_ALL)
    app.test_client().get("/health-check-of-setup")  # guards are installed by now
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    guarded.inner = RedisLikeStorage(clock, **timing)
    return app.test_client(), clock


def test_retry_after_is_computed_after_the_storage_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 100/minute limit on Redis across gunicorn workers once answered
    # retry_after 62: "now" was read before flask-limiter read the window
    # from Redis, and that read crossed a second boundary.
    client, clock = _on_redis_like_storage(monkeypatch, 1000.80, latency=0.15)
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 200]
    clock.now = 1000.90  # the window ends at 1060.80
    response = client.get("/limited")
    assert response.status_code == 429
    details = response.get_json()["details"]
    # Asked at 1000.975, Redis said TTL 60 (59.825 rounded); the answer came
    # at 1001.05: flask-limiter's reset is int(1001.05 + 60 + 1).
    assert details["reset"] == 1062
    assert details["retry_after"] == int(response.headers["Retry-After"]) == 61  # not 62
    assert clock.now + details["retry_after"] >= details["reset"]


def test_retry_after_covers_the_ttl_rounding(monkeypatch: pytest.MonkeyPatch) -> None:
    client, clock = _on_redis_like_storage(monkeypatch, 1000.40, after=0.06)
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 200]
    clock.now = 1000.95  # the window ends at 1060.40
    response = client.get("/limited")
    details = response.get_json()["details"]
    # TTL 59 (59.45 rounded down): the reported end is 1059.95 and the reset
    # 1060, before the window really ends. Read at 1001.01, a wait up to the
    # reset (59) would send the client back 0.39s too early.
    assert details["reset"] == 1060
    assert details["retry_after"] == 60
    assert clock.now + details["retry_after"] >= 1060.40


def test_a_breach_rendered_outside_a_request() -> None:
    # ApiErrors.problem_for works in an app context without a request (a
    # background job): the numbers then come from the limit alone.
    app = Flask("outside")
    ext = ApiErrors(app, format="error", ratelimit_details=DETAILS_ALL)
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
    caught: list[RateLimitExceeded] = []

    @app.get("/")
    @limiter.exempt
    def index() -> str:
        try:
            with limiter.limit("1/minute", scope="job"):
                return "ok"
        except RateLimitExceeded as e:
            caught.append(e)
            return "caught"

    client = app.test_client()
    assert [client.get("/").get_data(as_text=True) for _ in range(2)] == ["ok", "caught"]
    with app.app_context():
        problem = ext.problem_for(caught[0])
    assert (problem.status, problem.code) == (429, "rate_limit_exceeded")
    assert problem.details["limit"] == 1
    assert problem.details["remaining"] == 0
    assert 60 <= problem.details["retry_after"] <= 61
