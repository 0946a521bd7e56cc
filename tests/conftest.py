from __future__ import annotations

import os
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_apierrors import ApiErrors

try:
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass
else:
    # CI: a fixed seed and a bounded number of examples, so runs repeat.
    hypothesis_settings.register_profile(
        "ci",
        derandomize=True,
        max_examples=100,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
    )
    hypothesis_settings.register_profile("dev", max_examples=50, deadline=None)
    hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


class MakeApp(t.Protocol):
    def __call__(
        self, config: dict[str, t.Any] | None = None, **options: t.Any
    ) -> tuple[Flask, ApiErrors]: ...


@pytest.fixture
def make_app() -> MakeApp:
    """A factory of (app, extension) pairs with TESTING on."""

    def factory(
        config: dict[str, t.Any] | None = None, **options: t.Any
    ) -> tuple[Flask, ApiErrors]:
        app = Flask("test_app")
        app.config["TESTING"] = True
        app.config.update(config or {})
        ext = ApiErrors(app, **options)
        return app, ext

    return factory


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()[0]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
