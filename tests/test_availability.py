"""Tests of flask_apierrors.availability: maintenance mode (config, run time,
shared by workers through a file or Redis), overload 503s and 507s."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import os
import threading
import time
import typing as t
from datetime import datetime
from datetime import timedelta
from datetime import timezone
from pathlib import Path

import pytest
import redis
from flask import Blueprint
from flask import Flask
from flask import abort

from flask_apierrors.availability import FileStore
from flask_apierrors.availability import InsufficientStorageError
from flask_apierrors.availability import Maintenance
from flask_apierrors.availability import MaintenanceError
from flask_apierrors.availability import MaintenanceState
from flask_apierrors.availability import OverloadedError
from flask_apierrors.availability import RedisStore
from flask_apierrors.availability import UnavailableError
from flask_apierrors.availability import ensure_free_space
from flask_apierrors.availability import format_time
from tests.conftest import MakeApp
from tests.support.seeds import seed_examples
from tests.support.servers import GunicornServer
from tests.support.servers import RedisServer
from tests.support.servers import requires_redis

EXAMPLES = seed_examples()


def example(section_end: str, name: str | None = None) -> dict[str, t.Any]:
    for ex in EXAMPLES:
        if ex["section"].endswith(section_end) and (name is None or ex["example"] == name):
            return ex
    raise LookupError(section_end)


def documented(body: dict[str, t.Any], example_body: dict[str, t.Any]) -> dict[str, t.Any]:
    """``body`` without our correlation id and with the example's timestamp."""
    body = dict(body)
    body.pop("correlation_id", None)
    if "timestamp" in example_body:
        assert isinstance(body.pop("timestamp"), str)
        body["timestamp"] = example_body["timestamp"]
    return body


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def maintenance_app(
    make_app: MakeApp, tmp_path: Path, store: t.Any = None, **options: t.Any
) -> tuple[Flask, Maintenance]:
    options.setdefault("maintenance_file", str(tmp_path / "maintenance.json"))
    options.setdefault("maintenance_check_interval", 0.0)
    app, _ = make_app(**options)
    maintenance = Maintenance(app, store=store)

    @app.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/work")
    def work() -> dict[str, bool]:
        return {"done": True}

    return app, maintenance


# -- maintenance ------------------------------------------------------------------


def test_documented_maintenance_body(make_app: MakeApp, tmp_path: Path) -> None:
    ex = example("503 Service Unavailable", "Maintenance Mode")
    app, maintenance = maintenance_app(make_app, tmp_path)
    start = now() - timedelta(minutes=5)
    with app.app_context():
        maintenance.enable(start=start, end=start + timedelta(hours=1))
    response = app.test_client().get("/work")
    assert response.status_code == ex["status"]
    body = documented(response.get_json(), ex["body"])
    window = f"{start:%Y-%m-%dT%H:%M:%SZ} to {start + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}"
    assert body["details"] == {
        "maintenance_window": window,
        "estimated_completion": f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
    }
    body["details"] = ex["body"]["details"]
    assert body == ex["body"]
    # Retry-After: the seconds left until the end of the window.
    assert 55 * 60 - 5 <= int(response.headers["Retry-After"]) <= 55 * 60
    assert app.test_client().get("/health").status_code == 200


@pytest.mark.parametrize(
    ("config", "retry_after", "details"),
    [
        (True, "300", {"maintenance_window": None, "estimated_completion": None}),
        (
            "2020-01-01T10:00:00Z/2999-01-01T11:00:00Z",
            None,
            {
                "maintenance_window": "2020-01-01T10:00:00Z to 2999-01-01T11:00:00Z",
                "estimated_completion": "2999-01-01T11:00:00Z",
            },
        ),
        (
            {"end": "2999-01-01T11:00:00+01:00", "message": "Upgrading the database"},
            None,
            {"maintenance_window": None, "estimated_completion": "2999-01-01T10:00:00Z"},
        ),
    ],
)
def test_maintenance_from_config(
    make_app: MakeApp,
    tmp_path: Path,
    config: t.Any,
    retry_after: str | None,
    details: dict[str, t.Any],
) -> None:
    app, maintenance = maintenance_app(make_app, tmp_path, maintenance=config)
    response = app.test_client().get("/work")
    assert response.status_code == 503
    assert response.get_json()["details"] == details
    if retry_after is not None:
        assert response.headers["Retry-After"] == retry_after
    else:
        assert int(response.headers["Retry-After"]) > 10**9 // 100
    if isinstance(config, dict):
        assert response.get_json()["message"] == "Upgrading the database"
    # Configured maintenance is not switched off at run time.
    with app.app_context():
        maintenance.disable()
        assert maintenance.is_active()
    assert app.test_client().get("/work").status_code == 503


@pytest.mark.parametrize(
    ("start", "end", "active"),
    [
        (-60, 60, True),
        (None, 60, True),
        (None, None, True),
        (30, 90, False),  # scheduled: not yet
        (-90, -30, False),  # over
    ],
)
def test_window(
    make_app: MakeApp, tmp_path: Path, start: int | None, end: int | None, active: bool
) -> None:
    app, maintenance = maintenance_app(make_app, tmp_path)
    base = now()
    with app.app_context():
        maintenance.enable(
            start=None if start is None else base + timedelta(seconds=start),
            end=None if end is None else base + timedelta(seconds=end),
        )
        assert maintenance.is_active() is active
    assert app.test_client().get("/work").status_code == (503 if active else 200)


def test_switched_at_run_time_for_every_instance(make_app: MakeApp, tmp_path: Path) -> None:
    """Two apps on one state file stand for two gunicorn workers."""
    first, first_maintenance = maintenance_app(make_app, tmp_path)
    second, _ = maintenance_app(make_app, tmp_path)
    assert second.test_client().get("/work").status_code == 200
    with first.app_context():
        first_maintenance.enable(duration=600)
    response = second.test_client().get("/work")
    assert response.status_code == 503
    assert 595 <= int(response.headers["Retry-After"]) <= 600
    with first.app_context():
        first_maintenance.disable()
    assert second.test_client().get("/work").status_code == 200


def test_check_interval_caches_the_state(make_app: MakeApp, tmp_path: Path) -> None:
    first, first_maintenance = maintenance_app(make_app, tmp_path)
    second, _ = maintenance_app(make_app, tmp_path, maintenance_check_interval=3600.0)
    assert second.test_client().get("/work").status_code == 200
    with first.app_context():
        first_maintenance.enable()
    # The second "worker" trusts its last look for an hour; the first knows at once.
    assert second.test_client().get("/work").status_code == 200
    assert first.test_client().get("/work").status_code == 503


@pytest.mark.parametrize(
    ("exempt", "path", "status"),
    [
        (("/health",), "/health", 200),
        (("/health",), "/work", 503),
        (("/admin/*",), "/admin/maintenance", 200),
        (("admin.*",), "/admin/maintenance", 200),
        (("work",), "/work", 200),
        (("/health",), "/no/such/route", 503),
    ],
)
def test_exempt_paths_and_endpoints(
    make_app: MakeApp, tmp_path: Path, exempt: tuple[str, ...], path: str, status: int
) -> None:
    app, _ = maintenance_app(make_app, tmp_path, maintenance=True, maintenance_exempt=exempt)
    admin = Blueprint("admin", __name__)

    @admin.get("/maintenance")
    def state() -> dict[str, bool]:
        return {"ok": True}

    app.register_blueprint(admin, url_prefix="/admin")
    assert app.test_client().get(path).status_code == status


def test_maintenance_answers_before_other_hooks(make_app: MakeApp, tmp_path: Path) -> None:
    app, _ = make_app(maintenance=True, maintenance_file=str(tmp_path / "m.json"))

    @app.before_request
    def authenticate() -> None:
        abort(401)

    Maintenance(app)

    @app.get("/work")
    def work() -> str:
        return "done"

    assert app.test_client().get("/work").status_code == 503


def test_maintenance_in_a_blueprint_format(make_app: MakeApp, tmp_path: Path) -> None:
    app, errors = make_app(maintenance=True, maintenance_file=str(tmp_path / "m.json"))
    Maintenance(app)
    v1 = Blueprint("v1", __name__)

    @v1.get("/jobs")
    def jobs() -> str:
        return "jobs"

    errors.override(v1, format="error_code")
    app.register_blueprint(v1, url_prefix="/api/v1")
    body = app.test_client().get("/api/v1/jobs").get_json()
    assert (body["error"], body["error_code"]) == (True, "SERVICE_UNAVAILABLE")


def test_default_state_file_in_the_instance_folder(make_app: MakeApp, tmp_path: Path) -> None:
    app, _ = make_app()
    app.instance_path = str(tmp_path / "instance")
    maintenance = Maintenance(app)
    with app.app_context():
        maintenance.enable(message="Back soon")
    state = json.loads((tmp_path / "instance" / "apierrors-maintenance.json").read_text())
    assert (state["enabled"], state["message"], state["end"]) == (True, "Back soon", None)
    assert app.test_client().get("/").get_json()["message"] == "Back soon"


def test_cli(make_app: MakeApp, tmp_path: Path) -> None:
    app, maintenance = maintenance_app(make_app, tmp_path)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["maintenance", "on", "--minutes", "30", "--message", "Upgrade"])
    assert result.exit_code == 0, result.output
    assert "maintenance on" in result.output
    status = json.loads(runner.invoke(args=["maintenance", "status"]).output)
    assert status["enabled"] is True and status["message"] == "Upgrade"
    response = app.test_client().get("/work")
    assert response.status_code == 503
    assert 1795 <= int(response.headers["Retry-After"]) <= 1800
    assert runner.invoke(args=["maintenance", "off"]).output.strip() == "maintenance off"
    assert json.loads(runner.invoke(args=["maintenance", "status"]).output) == {"enabled": False}
    assert app.test_client().get("/work").status_code == 200


def test_setup_mistakes(make_app: MakeApp, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="ApiErrors"):
        Maintenance(Flask(__name__))
    app, maintenance = maintenance_app(make_app, tmp_path)
    with pytest.raises(RuntimeError, match="already"):
        Maintenance(app)
    with app.app_context(), pytest.raises(TypeError, match="duration"):
        maintenance.enable(end=now(), duration=60)
    with pytest.raises(ValueError, match="end after"):
        MaintenanceState(enabled=True, start=now(), end=now() - timedelta(seconds=1))
    with pytest.raises(ValueError, match="START/END"):
        MaintenanceState.from_config("tomorrow")
    # A bad window names the setting, in one line.
    for bad in ("2020-13-01/2020-01-01", "2020-01-02/2020-01-01", {"start": "soon"}):
        with pytest.raises(ValueError, match=r"^APIERRORS_MAINTENANCE=.* is not valid: [^\n]*\.$"):
            MaintenanceState.from_config(bad)
    with pytest.raises(TypeError, match="bool"):
        MaintenanceState.from_config(3)


def test_a_misspelt_key_of_the_maintenance_mapping_fails_at_setup(make_app: MakeApp) -> None:
    # "strat" would otherwise be ignored, and maintenance would start now.
    window = {"strat": "2099-01-01T00:00:00Z", "end": "2099-01-02T00:00:00Z"}
    with pytest.raises(ValueError) as excinfo:
        make_app(maintenance=window)
    message = str(excinfo.value)
    assert message.startswith("APIERRORS_MAINTENANCE={'strat': ")
    assert "unknown key(s) 'strat': use enabled, start, end, message." in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["maintenance_exempt", "maintenance_check_interval"])
def test_none_for_a_maintenance_setting_fails_in_one_line(make_app: MakeApp, name: str) -> None:
    pattern = rf"^APIERRORS_{name.upper()}=None is not valid: [^\n]*\.$"
    with pytest.raises(ValueError, match=pattern):
        make_app(**{name: None})


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


# -- overload, the "AI models unavailable" shape, 507 -------------------------------


def test_documented_overload(make_app: MakeApp) -> None:
    ex = example("503 Service Unavailable", "System Overload")
    app, _ = make_app()

    @app.get("/")
    def view() -> str:
        raise OverloadedError(30, load_level="high")

    response = app.test_client().get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert documented(response.get_json(), ex["body"]) == ex["body"]


def test_documented_models_unavailable(make_app: MakeApp) -> None:
    ex = example("503 Service Unavailable", "AI Models Unavailable")
    app, _ = make_app()

    @app.get("/")
    def view() -> str:
        raise UnavailableError(
            "AI models not available",
            details={
                "affected_models": ["Melanie-3", "Melanie-3-light"],
                "available_models": ["Melanie-3-code"],
                "estimated_recovery": "2023-12-01T10:15:00Z",
            },
            retry_after=900,
        )

    response = app.test_client().get("/")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "900"
    assert documented(response.get_json(), ex["body"]) == ex["body"]


def test_documented_storage_error(make_app: MakeApp) -> None:
    ex = example("STORAGE_ERROR")
    app, _ = make_app(format="error_code")

    @app.get("/")
    def view() -> str:
        raise InsufficientStorageError(
            required=1048576, available=524288, error_code="STORAGE_ERROR"
        )

    response = app.test_client().get("/")
    assert response.status_code == ex["status"] == 507
    assert documented(response.get_json(), ex["body"]) == ex["body"]


def test_insufficient_storage_from_the_disk(make_app: MakeApp, tmp_path: Path) -> None:
    app, _ = make_app(format="error")
    assert ensure_free_space(tmp_path, 1) > 0

    @app.post("/upload")
    def upload() -> str:
        ensure_free_space(tmp_path, 10**18)
        return "stored"

    response = app.test_client().post("/upload")
    body = response.get_json()
    assert response.status_code == 507
    assert (body["error"], body["message"]) == (
        "insufficient_storage",
        "Insufficient storage space",
    )
    assert body["details"]["required"] == 10**18
    assert 0 <= body["details"]["available"] < 10**18


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (OverloadedError(0.2, load_level="critical"), 503, "1"),
        (UnavailableError(), 503, None),
        (MaintenanceError(), 503, None),
        (MaintenanceError(retry_after=60), 503, "60"),
    ],
)
def test_unavailable_headers(
    make_app: MakeApp, error: Exception, status: int, retry_after: str | None
) -> None:
    app, _ = make_app()

    @app.get("/")
    def view() -> str:
        raise error

    response = app.test_client().get("/")
    assert response.status_code == status
    assert response.headers.get("Retry-After") == retry_after


def test_exempt_routes_never_read_the_store(make_app: MakeApp, tmp_path: Path) -> None:
    # A store that cannot answer (Redis down) must not hold up a health check.
    class CountingStore:
        reads = 0

        def read(self) -> MaintenanceState | None:
            CountingStore.reads += 1
            return None

        def write(self, state: MaintenanceState | None) -> None:
            pass

    app, _ = maintenance_app(
        make_app, tmp_path, store=CountingStore(), maintenance_exempt=("/health",)
    )
    client = app.test_client()
    for _ in range(3):
        assert client.get("/health").status_code == 200
    assert CountingStore.reads == 0
    assert client.get("/work").status_code == 200
    assert CountingStore.reads == 1
