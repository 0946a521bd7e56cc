"""StorageGuard, the outage policy of the limit storages, without a server:
warnings, fail-closed waits, probes, and the calls it keeps while the storage
is down."""

from __future__ import annotations

import logging
import threading
import time
import typing as t

import pytest

from flask_apierrors.limits_storage import StorageGuard
from flask_apierrors.limits_storage import StorageUnavailable
from flask_apierrors.limits_storage import guard_for

ERRORS = (ConnectionError, TimeoutError)


class Backend:
    """An operation that fails while ``down`` and counts its calls."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    def op(self) -> str:
        self.calls += 1
        if self.down:
            raise ConnectionError("refused")
        return "stored"


def _call(guard: StorageGuard, backend: Backend, **kwargs: t.Any) -> str:
    options: dict[str, t.Any] = {"fail_open": True, "errors": ERRORS, **kwargs}
    return guard.run(backend.op, (), lambda: "fallback", **options)


# -- StorageGuard -----------------------------------------------------------------------------


def test_passes_results_through() -> None:
    guard, backend = StorageGuard("s", retry_interval=0.05), Backend()
    assert [_call(guard, backend) for _ in range(3)] == ["stored"] * 3
    assert not guard.down


def test_one_warning_skips_and_one_info_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    guard, backend = StorageGuard("s", retry_interval=0.2), Backend()
    with caplog.at_level(logging.INFO, logger="flask_apierrors.limits"):
        backend.down = True
        assert [_call(guard, backend) for _ in range(50)] == ["fallback"] * 50
        assert backend.calls == 1  # the others skipped the storage
        assert guard.down
        time.sleep(0.21)
        assert _call(guard, backend) == "fallback"  # one probe, still down
        assert backend.calls == 2
        backend.down = False
        assert _call(guard, backend) == "fallback"  # not yet time to probe
        time.sleep(0.21)
        assert _call(guard, backend) == "stored"
    assert not guard.down
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in levels] == [logging.WARNING, logging.INFO]
    assert "(ConnectionError)" in levels[0][1]
    assert "answers again" in levels[1][1]
    assert "skipped it meanwhile" in levels[1][1]


def test_apps_of_both_policies_on_one_storage_are_each_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # One WARNING per outage named only the policy of the app that met the
    # outage first: "requests pass unchecked" while another app's got 503s.
    guard, backend = StorageGuard("shared", retry_interval=60), Backend()
    backend.down = True
    with caplog.at_level(logging.WARNING, logger="flask_apierrors.limits"):
        for _ in range(3):
            assert _call(guard, backend, fail_open=True) == "fallback"
            with pytest.raises(StorageUnavailable):
                _call(guard, backend, fail_open=False)
    told = [r.getMessage() for r in caplog.records]
    assert len(told) == 2
    assert "pass unchecked (fail-open)" in told[0] and "get 503 (fail-closed)" in told[1]
    assert all("(ConnectionError)" in line for line in told)


@pytest.mark.parametrize(
    ("retry_interval", "retry_after"),
    [(0.05, 1), (1.0, 1), (2.5, 3), (30.0, 30)],
)
def test_fail_closed_raises_with_the_wait(retry_interval: float, retry_after: int) -> None:
    guard, backend = StorageGuard("s", retry_interval=retry_interval), Backend()
    backend.down = True
    for _ in range(2):  # the failing call, then a skipped one
        with pytest.raises(StorageUnavailable) as info:
            _call(guard, backend, fail_open=False)
        assert info.value.retry_after == retry_after
        assert info.value.status == 503
        assert info.value.details == {"retry_after": retry_after}
        assert info.value.headers == {"Retry-After": str(retry_after)}
        assert info.value.__cause__ is None
    assert backend.calls == 1


def test_calls_that_may_not_refuse_fall_back_in_fail_closed_mode() -> None:
    guard, backend = StorageGuard("s", retry_interval=10), Backend()
    backend.down = True
    assert _call(guard, backend, fail_open=False, refuse=False) == "fallback"
    assert _call(guard, backend, fail_open=False, refuse=False) == "fallback"


def test_other_exceptions_are_bugs_not_outages() -> None:
    guard = StorageGuard("s")

    def broken() -> str:
        raise TypeError("bad argument")

    with pytest.raises(TypeError):
        guard.run(broken, (), lambda: "fallback", fail_open=True, errors=ERRORS)
    assert not guard.down


def test_one_probe_at_a_time_across_threads() -> None:
    guard = StorageGuard("s", retry_interval=0.2)
    calls = []
    gate = threading.Event()
    gate.set()

    def slow_failure() -> str:
        calls.append(1)
        gate.wait(1)
        raise TimeoutError("no answer")

    assert guard.run(slow_failure, (), lambda: "down", fail_open=True, errors=ERRORS) == "down"
    assert guard.down
    gate.clear()
    time.sleep(0.21)  # the probe is due
    results: list[str] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                guard.run(slow_failure, (), lambda: "skipped", fail_open=True, errors=ERRORS)
            )
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    gate.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 2  # the first failure, then exactly one probe
    assert results == ["skipped"] * 8


# -- kept calls (a release that must not be lost) ----------------------------------------------


class Kept:
    """Records the kept calls the guard runs; fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.done: list[str] = []

    def op(self, name: str) -> None:
        if self.down:
            raise ConnectionError("refused")
        self.done.append(name)


def _keep(guard: StorageGuard, kept: Kept, name: str, seconds: float = 60.0) -> None:
    guard.run(lambda: kept.op(name), (), lambda: None, fail_open=True, errors=ERRORS, keep=seconds)


def test_a_failed_or_skipped_call_is_kept_and_run_first_when_the_storage_answers() -> None:
    guard, backend, kept = StorageGuard("s", retry_interval=0.05), Backend(), Kept()
    kept.down = True
    _keep(guard, kept, "failed")  # tried: fails, the outage starts
    _keep(guard, kept, "skipped")  # not tried during the outage
    assert guard.down and guard.pending == 2 and kept.done == []
    kept.down = False
    assert _call(guard, backend) == "fallback"  # still inside the retry interval
    assert kept.done == []
    time.sleep(0.06)
    seen: list[str] = []

    def op() -> str:
        seen.extend(kept.done)
        return "stored"

    assert guard.run(op, (), lambda: "x", fail_open=True, errors=ERRORS) == "stored"
    assert seen == ["failed", "skipped"]  # run before the call itself
    assert not guard.down and guard.pending == 0


def test_a_kept_call_that_fails_again_stays_and_counts_as_the_probe() -> None:
    guard, backend, kept = StorageGuard("s", retry_interval=0.05), Backend(), Kept()
    kept.down = True
    _keep(guard, kept, "a")
    _keep(guard, kept, "b")
    time.sleep(0.06)
    assert _call(guard, backend) == "fallback"  # the kept "a" failed: the call is not made
    assert backend.calls == 0 and guard.pending == 2 and guard.down
    kept.down = False
    time.sleep(0.06)
    assert _call(guard, backend) == "stored"
    assert kept.done == ["a", "b"] and guard.pending == 0


def test_successful_calls_are_not_kept() -> None:
    guard, kept = StorageGuard("s"), Kept()
    _keep(guard, kept, "ok")
    assert kept.done == ["ok"] and guard.pending == 0


def test_kept_calls_are_bounded_and_expire(caplog: pytest.LogCaptureFixture) -> None:
    guard, backend, kept = StorageGuard("s", retry_interval=0.05, max_pending=3), Backend(), Kept()
    kept.down = True
    for name in "abcde":
        _keep(guard, kept, name)
    assert guard.pending == 3  # the oldest were dropped
    _keep(guard, kept, "soon gone", seconds=0.01)
    assert guard.pending == 3
    kept.down = False
    time.sleep(0.06)
    with caplog.at_level(logging.INFO, logger="flask_apierrors.limits"):
        assert _call(guard, backend) == "stored"
    assert kept.done == ["d", "e"]  # "soon gone" expired: the storage let it go
    assert "3 kept calls dropped" in caplog.text


def test_guards_are_shared_per_location() -> None:
    first = guard_for("Redis shared-location:1/0", retry_interval=0.5)
    assert guard_for("Redis shared-location:1/0", retry_interval=9) is first
    assert first.retry_interval == 0.5
    assert guard_for("Redis shared-location:2/0") is not first


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(0, 1), (-5, 1), (1, 1), (45, 45)],
)
def test_storage_unavailable_waits_at_least_a_second(retry_after: int, expected: int) -> None:
    error = StorageUnavailable(retry_after)
    assert (error.error_code, error.status, error.retry_after) == (
        "service_unavailable",
        503,
        expected,
    )
