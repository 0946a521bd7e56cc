"""Maintenance mode of flask_apierrors.availability: the documented 503, the
window from config or set at run time, exempt routes, the CLI and setup
mistakes."""

from __future__ import annotations

import json
import typing as t
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Blueprint
from flask import Flask
from flask import abort

from flask_apierrors.availability import Maintenance
from flask_apierrors.availability import MaintenanceState
from tests.conftest import MakeApp
from tests.support.availability import documented
from tests.support.availability import example
from tests.support.availability import maintenance_app
from tests.support.availability import now

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
