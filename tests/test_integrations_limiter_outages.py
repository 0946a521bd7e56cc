"""The outage policy for flask-limiter's storage (memory storage that fails on
demand): the guard, fail-open and fail-closed, and per-request data kept with
the request."""

from __future__ import annotations

import logging
import time
import typing as t

import pytest
from flask import Flask
from flask import g

from flask_apierrors import ApiErrors

flask_limiter = pytest.importorskip("flask_limiter")
from flask_limiter import Limiter  # noqa: E402
from limits.storage import MemoryStorage  # noqa: E402

from flask_apierrors.ratelimit import guard  # noqa: E402
from flask_apierrors.ratelimit.guard import GuardedStorage  # noqa: E402
from tests.support.limiter_apps import DETAILS_ALL  # noqa: E402
from tests.support.limiter_apps import details_of as _details  # noqa: E402
from tests.support.limiter_apps import exhaust as _exhaust  # noqa: E402
from tests.support.limiter_apps import make_limited as _make  # noqa: E402

# -- storage outages --------------------------------------------------------------------------


class FlakyStorage(MemoryStorage):
    """Memory storage that fails like an unreachable server while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ConnectionError

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("connection refused")

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self._maybe_fail()
        return super().incr(key, expiry, amount)

    def get(self, key: str) -> int:
        self._maybe_fail()
        return super().get(key)

    def get_expiry(self, key: str) -> float:
        self._maybe_fail()
        return super().get_expiry(key)


def _flaky_app(**options: t.Any) -> tuple[Flask, Limiter, FlakyStorage]:
    app, limiter = _make("2/minute", format="error", limits_retry_interval=0.05, **options)
    app.test_client().get("/health-check-of-setup")  # guards are installed by now
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    flaky = FlakyStorage()
    guarded.inner = flaky
    return app, limiter, flaky


@pytest.mark.parametrize("apierrors_first", [True, False])
def test_storage_is_guarded_whatever_the_setup_order(apierrors_first: bool) -> None:
    app, limiter = _make(apierrors_first=apierrors_first)
    assert app.test_client().get("/limited").status_code == 200
    assert isinstance(limiter.limiter.storage, GuardedStorage)
    assert isinstance(limiter.limiter.storage.inner, MemoryStorage)


@pytest.mark.parametrize("apierrors_first", [True, False])
def test_storage_guard_hook_works_once(
    apierrors_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = guard.guard_limiters
    monkeypatch.setattr(guard, "guard_limiters", lambda state: calls.append(real(state)))
    app, limiter = _make(apierrors_first=apierrors_first)
    assert len(calls) == 1  # at setup
    client = app.test_client()
    assert client.get("/limited").status_code == 200
    assert len(calls) == 2  # at the first request, for a Limiter set up later
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    assert client.get("/limited").status_code == 200
    assert client.get("/limited").status_code == 429
    assert len(calls) == 2  # later requests return at once
    assert limiter.limiter.storage is guarded


def test_guarded_storage_lets_other_errors_through() -> None:
    app, limiter = _make()
    app.test_client().get("/health-check-of-setup")
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)

    class Broken(MemoryStorage):
        def incr(self, key: str, expiry: float, amount: int = 1) -> int:
            raise KeyError(key)

    guarded.inner = Broken()
    with pytest.raises(KeyError):
        guarded.incr("k", 60)


def test_guard_can_be_turned_off() -> None:
    app, limiter = _make(ratelimit_guard_storage=False)
    app.test_client().get("/limited")
    assert not isinstance(limiter.limiter.storage, GuardedStorage)


def test_fail_open_lets_requests_through_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _, flaky = _flaky_app()
    client = app.test_client()
    flaky.down = True
    with caplog.at_level(logging.INFO, logger="flask_apierrors.limits"):
        statuses = [client.get("/limited").status_code for _ in range(20)]
        assert statuses == [200] * 20
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "ConnectionError" in warnings[0].getMessage()
        # Skipped while down: far fewer storage calls than requests.
        assert flaky.calls < 10
        flaky.down = False
        time.sleep(0.06)
        statuses = [client.get("/limited").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert any("answers again" in r.getMessage() for r in infos)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_fail_closed_answers_json_503_then_recovers() -> None:
    app, _, flaky = _flaky_app(limits_fail_open=False)
    client = app.test_client()
    flaky.down = True
    for _ in range(3):
        response = client.get("/limited")
        assert response.status_code == 503
        body = response.get_json()
        assert body["error"] == "service_unavailable"
        assert body["message"] == "Service temporarily unavailable"
        assert body["details"]["retry_after"] == int(response.headers["Retry-After"]) >= 1
        assert "refused" not in response.get_data(as_text=True)
    flaky.down = False
    time.sleep(0.06)
    assert [client.get("/limited").status_code for _ in range(3)] == [200, 200, 429]


def test_fail_closed_only_refuses_before_the_response() -> None:
    # A deduction made after the view (deduct_when) cannot turn a finished
    # response into a 503: it fails open.
    app = Flask("deduct")
    ApiErrors(app, format="error", limits_fail_open=False, limits_retry_interval=0.05)
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
    flaky = FlakyStorage()

    @app.get("/")
    @limiter.limit("5/minute", deduct_when=lambda response: True)
    def index() -> str:
        flaky.down = True
        return "done"

    client = app.test_client()
    client.get("/favicon.ico")
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    guarded.inner = flaky
    response = client.get("/")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "done")


# -- per-request data lives with the request -------------------------------------------------


def test_an_app_context_kept_across_requests_shares_nothing() -> None:
    # A suite that pushes app.app_context() in its setup keeps one ``g`` for
    # every request it makes.
    app, limiter = _make("1/minute", format="error", ratelimit_details=DETAILS_ALL)

    @app.get("/five")
    @limiter.limit("5/minute")
    def five() -> str:
        return "ok"

    client = app.test_client()
    with app.app_context():
        one = _exhaust(client, 1)
        assert _details(one.get_json())["limit"] == 1
        response = _exhaust(client, 5, "/five")
        assert _details(response.get_json())["limit"] == 5
        assert response.headers.getlist("X-RateLimit-Limit") == ["5"]
        assert not [name for name in vars(g) if "apierrors" in name]


def test_fail_closed_refuses_every_request_of_a_kept_app_context() -> None:
    app, _, flaky = _flaky_app(limits_fail_open=False)
    client = app.test_client()
    flaky.down = True
    with app.app_context():
        assert [client.get("/limited").status_code for _ in range(3)] == [503] * 3
