"""The example app's settings and entry points, in process: a setting that
cannot work refuses to start with one clear line, settings come from the
environment and are all documented, the admin route shows them without the
secrets, and the gunicorn configuration and the WSGI module do what they say."""

from __future__ import annotations

import runpy
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from example_app import create_app
from example_app import settings
from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import bearer
from tests.support.example_inprocess import call

REPO = Path(__file__).parents[1]

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app


# -- settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADMIN_KEY", "mel_short"),
        ("ADMIN_KEY", "sk_" + "A" * 32),
        ("CONCURRENT_LIMIT", 0),
        ("UPSTREAM_TIMEOUT", -1),
        ("MAX_JSON_BYTES", "big"),
        ("STORAGE_QUOTA", -5),
        ("GENERATION_RETRIES", True),
        # Not finite, or past any sane range.
        ("STORAGE_QUOTA", float("nan")),
        ("UPSTREAM_TIMEOUT", float("nan")),
        ("UPSTREAM_TIMEOUT", float("inf")),
        ("DB_TIMEOUT", 1e300),
        ("MAX_JSON_BYTES", float("inf")),
        ("GENERATION_MAX_TIME", float("-inf")),
        ("STREAM_HEARTBEAT", 0),
        # Rate limits that do not parse.
        ("CHAT_RATE_LIMIT", "lots per fortnight"),
        ("CHAT_RATE_LIMIT", 100),
        ("IMAGE_RATE_LIMIT", "100"),
        # Service URLs without an http(s) scheme or a host.
        ("MODEL_SERVICE_URL", "not a url"),
        ("SEARCH_SERVICE_URL", "ftp://example.com"),
        ("GENERATION_SERVICE_URL", "http://"),
        ("MODEL_SERVICE_URL", "http://127.0.0.1:99999"),
    ],
)
def test_settings_that_cannot_work_refuse_to_start(
    make_app: MakeApp, name: str, value: t.Any
) -> None:
    with pytest.raises(ValueError, match=f"EXAMPLE_APP_{name}") as caught:
        make_app(**{name: value})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MAX_JSON_BYTES", "1e400"), ("UPSTREAM_TIMEOUT", "NaN"), ("DB_TIMEOUT", "Infinity")],
)
def test_settings_from_the_environment_that_cannot_work_refuse_to_start(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"EXAMPLE_APP_{name}", value)
    with pytest.raises(ValueError, match=f"EXAMPLE_APP_{name}"):
        make_app()


@pytest.mark.parametrize("where", ["a file", "under /proc"])
def test_an_unusable_instance_folder_refuses_to_start(tmp_path: Path, where: str) -> None:
    path = tmp_path / "instance"
    if where == "a file":
        path.write_text("not a folder")
    else:
        path = Path("/proc/example-app-instance")
    with pytest.raises(ValueError, match="EXAMPLE_APP_INSTANCE_PATH") as caught:
        create_app({"INSTANCE_PATH": str(path), "ADMIN_KEY": ADMIN})
    assert "\n" not in str(caught.value)


def test_settings_come_from_the_environment(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXAMPLE_APP_CONCURRENT_LIMIT", "7")
    monkeypatch.setenv("EXAMPLE_APP_CHAT_RATE_LIMIT", "5 per minute")
    app = make_app()
    assert app.config["CONCURRENT_LIMIT"] == 7
    assert app.config["CHAT_RATE_LIMIT"] == "5 per minute"
    assert set(settings.DEFAULTS) <= set(app.config)


def test_every_setting_is_documented() -> None:
    page = (REPO / "docs" / "example_app.rst").read_text()
    missing = [name for name in settings.DEFAULTS if f"EXAMPLE_APP_{name}" not in page]
    assert missing == []


# -- administration, entry points ----------------------------------------------------


def test_system_config(make_app: MakeApp) -> None:
    client = make_app(MODEL_SERVICE_URL="http://user:pw@example.invalid").test_client()
    shown = call(client, "GET", "/system/config", headers=bearer(ADMIN)).get_json()
    assert shown["CONCURRENT_LIMIT"] == 5
    assert not {"ADMIN_KEY", "MODEL_SERVICE_URL", "RATELIMIT_STORAGE_URI"} & set(shown)
    response = call(client, "DELETE", "/system/config", headers=bearer(ADMIN))
    assert_example(response, "403 Forbidden", "Operation Not Allowed")


@pytest.mark.parametrize(
    ("environ", "workers"),
    [
        ({}, 1),
        ({"EXAMPLE_APP_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379"}, 2),
        ({"WEB_CONCURRENCY": "3"}, 3),
    ],
)
def test_gunicorn_configuration(
    monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], workers: int
) -> None:
    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    conf = runpy.run_path(str(REPO / "example_app" / "gunicorn.conf.py"))
    assert conf["bind"] == "127.0.0.1:8000"
    assert (conf["workers"], conf["worker_class"]) == (workers, "gthread")


@pytest.mark.parametrize(
    ("name", "value"),
    [("GUNICORN_THREADS", "0"), ("GUNICORN_THREADS", "abc"), ("WEB_CONCURRENCY", "0")],
)
def test_gunicorn_configuration_refuses_a_bad_count(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as caught:
        runpy.run_path(str(REPO / "example_app" / "gunicorn.conf.py"))
    assert caught.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"example_app: {name} must be")


def test_wsgi_module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EXAMPLE_APP_INSTANCE_PATH", str(tmp_path))
    namespace = runpy.run_module("example_app.wsgi")
    app = namespace["app"]
    assert isinstance(app, Flask)
    assert app.instance_path == str(tmp_path)
    assert (tmp_path / "example_app.sqlite3").is_file()
