"""Frameworks whose own HTTP error handler ApiErrors takes over on purpose
(APIFlask, flask-smorest in either set-up order) are not warned about."""

from __future__ import annotations

import logging

import pytest
from apiflask import APIFlask
from flask import Flask
from flask_smorest import Api

from flask_apierrors import ApiErrors


def _smorest_app(api_first: bool) -> Flask:
    app = Flask("smorest_app")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.2")
    if api_first:
        Api(app)
        ApiErrors(app)
    else:
        ApiErrors(app)
        Api(app)
    return app


@pytest.mark.parametrize("api_first", [True, False])
def test_flask_smorest_in_either_order(caplog: pytest.LogCaptureFixture, api_first: bool) -> None:
    app = _smorest_app(api_first)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = app.test_client().get("/missing")
    assert response.get_json()["error"] == "not_found"
    assert caplog.records == []


def test_apiflask(caplog: pytest.LogCaptureFixture) -> None:
    app = APIFlask("apiflask_app")
    ApiErrors(app)
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = app.test_client().get("/missing")
    assert response.get_json()["error"] == "not_found"
    assert caplog.records == []
