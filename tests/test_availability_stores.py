"""Where maintenance state is kept: the state file and Redis stores, reads of
a slow or hung store, and workers sharing the state under gunicorn."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import threading
import time
import typing as t
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from flask_apierrors.availability import FileStore
from flask_apierrors.availability import Maintenance
from flask_apierrors.availability import MaintenanceState
from flask_apierrors.availability import RedisStore
from flask_apierrors.availability import format_time
from tests.conftest import MakeApp
from tests.support.availability import documented
from tests.support.availability import example
from tests.support.availability import maintenance_app
from tests.support.availability import now
from tests.support.servers import GunicornServer
from tests.support.servers import RedisServer
from tests.support.servers import requires_redis

# -- stores -------------------------------------------------------------------------


def test_file_store_reads_only_changed_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FileStore(tmp_path / "state" / "m.json")
    assert store.read() is None
    state = MaintenanceState(enabled=True, end=now() + timedelta(hours=1), message="x")
    store.write(state)
    first = store.read()
    assert first == state
    assert store.read() is first  # unchanged file: the parsed state is reused
    Path(store.path).write_text("{broken")
    with caplog.at_level(logging.WARNING, logger="flask_apierrors.availability"):
        assert store.read() is None
    assert "unreadable" in caplog.text
    store.write(None)
    store.write(None)
    assert not os.path.exists(store.path)


@pytest.mark.parametrize("broken", ["symlink loop", "parent is a file"])
def test_a_state_file_that_cannot_be_looked_at_is_no_500(
    make_app: MakeApp, tmp_path: Path, caplog: pytest.LogCaptureFixture, broken: str
) -> None:
    if broken == "symlink loop":  # ELOOP
        path = tmp_path / "loop.json"
        path.symlink_to(path)
    else:  # ENOTDIR
        (tmp_path / "afile").write_text("")
        path = tmp_path / "afile" / "maintenance.json"
    app, _ = maintenance_app(make_app, tmp_path, maintenance_file=str(path))
    with caplog.at_level(logging.WARNING):
        statuses = [app.test_client().get("/work").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # one per outage
    assert "cannot be read" in caplog.records[0].getMessage()


def test_file_store_keeps_the_last_state_while_the_file_cannot_be_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "m.json")
    state = MaintenanceState(enabled=True, end=now() + timedelta(hours=1))
    store.write(state)
    assert store.read() == state
    stat = os.stat

    def denied(path: t.Any, *args: t.Any, **kwargs: t.Any) -> os.stat_result:
        # The folder is not searchable by the worker's user (EACCES).
        if os.fspath(path) == store.path:
            raise PermissionError(13, "Permission denied", path)
        return stat(path, *args, **kwargs)

    with caplog.at_level(logging.WARNING, logger="flask_apierrors.availability"):
        for outage in range(2):
            monkeypatch.setattr(os, "stat", denied)
            assert [store.read() for _ in range(3)] == [state] * 3
            monkeypatch.undo()
            assert store.read() == state
            assert len(caplog.records) == outage + 1  # one warning per outage
    assert "Permission denied" in caplog.records[0].getMessage()
    assert "keeping the last state" in caplog.records[0].getMessage()


def test_stored_state_with_unknown_keys_is_read_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Another version may have written the state: its other keys are ignored.
    path = tmp_path / "m.json"
    end = now() + timedelta(hours=1)
    stored = {"enabled": True, "end": format_time(end), "reason_of_test": "db"}
    with caplog.at_level(logging.WARNING, logger="flask_apierrors.availability"):
        for message in ("first", "second version of the file"):
            path.write_text(json.dumps({**stored, "message": message}))
            state = FileStore(path).read()
            assert state == MaintenanceState(enabled=True, end=end, message=message)
    assert len(caplog.records) == 1
    assert "'reason_of_test'" in caplog.records[0].getMessage()


def test_one_store_read_at_a_time(make_app: MakeApp, tmp_path: Path) -> None:
    # A store that hangs after a first answer (Redis that stops answering):
    # one request waits for it, the others take the last state instead of
    # waiting too.
    entered, release = threading.Event(), threading.Event()

    class HungStore:
        reads = 0

        def read(self) -> MaintenanceState | None:
            HungStore.reads += 1
            if HungStore.reads > 1:
                entered.set()
                release.wait(10)
            return None

        def write(self, state: MaintenanceState | None) -> None:
            pass

    app, _ = maintenance_app(make_app, tmp_path, store=HungStore())

    def get() -> int:
        return app.test_client().get("/work").status_code

    assert get() == 200  # the first read, answered
    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        try:
            first = pool.submit(get)
            assert entered.wait(5)
            others = [pool.submit(get) for _ in range(8)]
            done, _ = concurrent.futures.wait(others, timeout=3)
            assert len(done) == 8
            assert HungStore.reads == 2
        finally:
            release.set()
        assert [f.result() for f in (first, *others)] == [200] * 9


def test_until_a_first_read_has_answered_requests_wait_for_it(
    make_app: MakeApp, tmp_path: Path
) -> None:
    # No state read yet is not "no maintenance": a worker that just started
    # served the requests that came during its first (slow) read.
    class SlowStore:
        def read(self) -> MaintenanceState | None:
            time.sleep(0.3)
            return MaintenanceState(enabled=True, message="Migrating")

        def write(self, state: MaintenanceState | None) -> None:
            pass

    app, _ = maintenance_app(make_app, tmp_path, store=SlowStore(), maintenance_check_interval=60)
    app.test_client().get("/health")  # exempt: serving, nothing read
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda _: app.test_client().get("/work").status_code, range(6)))
    assert codes == [503] * 6


def test_no_request_waits_for_the_read_in_flight(make_app: MakeApp, tmp_path: Path) -> None:
    # A first read that hangs: the requests meanwhile read the store
    # themselves. None waits on the reading lock, which, made before gevent
    # patched the process (--preload), would block every greenlet.
    entered, release = threading.Event(), threading.Event()

    class FirstHangs:
        reads = 0

        def read(self) -> MaintenanceState | None:
            FirstHangs.reads += 1
            if FirstHangs.reads == 1:
                entered.set()
                release.wait(10)
            return MaintenanceState(enabled=True, message="Migrating")

        def write(self, state: MaintenanceState | None) -> None:
            pass

    app, _ = maintenance_app(make_app, tmp_path, store=FirstHangs(), maintenance_check_interval=60)

    def get() -> int:
        return app.test_client().get("/work").status_code

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        try:
            first = pool.submit(get)
            assert entered.wait(5)
            others = [pool.submit(get) for _ in range(4)]
            done, _ = concurrent.futures.wait(others, timeout=3)
            assert len(done) == 4
            assert [f.result() for f in others] == [503] * 4
        finally:
            release.set()
        assert first.result() == 503


@pytest.mark.slow
@requires_redis
def test_redis_store_shared_and_outage_tolerant(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisServer() as server:
        apps = []
        for _ in range(2):
            app, _ = make_app(maintenance_check_interval=0.0)
            maintenance = Maintenance(app, store=RedisStore(server.url, socket_timeout=0.3))

            @app.get("/work")
            def work() -> str:
                return "done"

            apps.append((app, maintenance))
        (first, first_maintenance), (second, _) = apps
        with first.app_context():
            first_maintenance.enable(duration=120)
        assert second.test_client().get("/work").status_code == 503
        server.kill()
        with caplog.at_level(logging.WARNING, logger="flask_apierrors.availability"):
            # Redis is gone: the last state read stays in force, one warning.
            assert second.test_client().get("/work").status_code == 503
            assert second.test_client().get("/work").status_code == 503
        warnings = [r for r in caplog.records if "Redis" in r.getMessage()]
        assert len(warnings) == 1
        server.restart()
        assert second.test_client().get("/work").status_code == 200  # empty after restart
    for store_owner in apps:
        client = store_owner[0].extensions["apierrors_maintenance"].store.client
        t.cast(redis.Redis, client).close()


@pytest.mark.slow
def test_switched_at_run_time_under_gunicorn(tmp_path: Path) -> None:
    import httpx

    env = {"AVAILABILITY_APP_STATE_FILE": str(tmp_path / "maintenance.json")}
    with (
        GunicornServer(
            "tests.apps.availability_app:app", workers=2, env=env, health_path="/health"
        ) as server,
        httpx.Client(base_url=server.url, timeout=5) as client,
    ):
        workers = server.wait_for_workers(2)

        def statuses() -> tuple[set[int], set[str]]:
            codes, pids = set(), set()
            for _ in range(20):
                # A new connection each time, so both workers answer.
                response = client.get("/work", headers={"Connection": "close"})
                codes.add(response.status_code)
                pids.add(response.headers["X-Worker-PID"])
            return codes, pids

        assert statuses()[0] == {200}
        for path, section, name in [
            ("/overloaded", "503 Service Unavailable", "System Overload"),
            ("/models", "503 Service Unavailable", "AI Models Unavailable"),
            ("/storage", "STORAGE_ERROR", None),
        ]:
            ex = example(section, name)
            response = client.get(path)
            assert response.status_code == ex["status"]
            assert documented(response.json(), ex["body"]) == ex["body"]
        assert client.put("/admin/maintenance", params={"minutes": 10}).status_code == 200
        codes, pids = statuses()
        assert codes == {503}
        assert pids <= {str(pid) for pid in workers}
        ex = example("503 Service Unavailable", "Maintenance Mode")
        response = client.get("/work")
        assert 590 <= int(response.headers["Retry-After"]) <= 600
        body = documented(response.json(), ex["body"])
        assert set(body["details"]) == set(ex["body"]["details"])
        body["details"] = ex["body"]["details"]
        assert body == ex["body"]
        assert client.get("/health").status_code == 200
        assert client.delete("/admin/maintenance").json() == {"enabled": False}
        assert statuses()[0] == {200}
