"""The WSGI middleware: CORS exposure of the id header, exceptions that
escape Flask, streamed bodies that fail midway, routing redirects."""

from __future__ import annotations

import json
import logging
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import stream_with_context
from flask_cors import CORS

from flask_apierrors import ApiErrors

from .conftest import MakeApp


@pytest.mark.parametrize("expose", [None, "X-Total", "x-request-id, X-Total"])
def test_cors_responses_expose_the_id_header(expose: str | None) -> None:
    app = Flask("cors_app")
    ApiErrors(app)
    CORS(app, expose_headers=expose)

    @app.get("/ok")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    for path in ("/ok", "/missing"):
        response = app.test_client().get(path, headers={"Origin": "https://web.test"})
        exposed = [
            p.strip().lower() for p in response.headers["Access-Control-Expose-Headers"].split(",")
        ]
        assert exposed.count("x-request-id") == 1, exposed
        if expose is not None:
            assert "x-total" in exposed
        assert response.headers["X-Request-ID"]


def test_no_cors_no_expose_header(client: t.Any) -> None:
    assert "Access-Control-Expose-Headers" not in client.get("/missing").headers


def _teardown_app() -> Flask:
    app = Flask("teardown_app")
    ApiErrors(app)

    @app.get("/ok")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.teardown_request
    def fail(exc: BaseException | None) -> None:
        raise RuntimeError("teardown secret")

    return app


def test_an_exception_escaping_the_app_is_a_json_500_with_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _teardown_app()
    response = app.test_client().get("/ok", headers={"X-Request-ID": "escape-1"})
    assert response.status_code == 500
    body = response.get_json()
    assert body["error"] == "internal_server_error"
    assert body["correlation_id"] == response.headers["X-Request-ID"] == "escape-1"
    error_id = body["details"]["error_id"]
    assert "teardown secret" not in response.get_data(as_text=True)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(error_id in line and "escape-1" in line for line in lines), lines


def test_an_escaping_exceptions_500_is_written_like_the_apps_json() -> None:
    # It was written with its own encoder: keys in the format's order,
    # where Flask's provider sorts them.
    app = _teardown_app()
    text = app.test_client().get("/ok").get_data(as_text=True)
    keys = list(json.loads(text))
    assert keys == sorted(keys) == sorted(app.test_client().get("/nowhere").get_json())


def test_an_escaping_exception_propagates_when_testing() -> None:
    app = _teardown_app()
    app.config["TESTING"] = True
    with pytest.raises(RuntimeError, match="teardown secret"):
        app.test_client().get("/ok")


def test_a_stream_failing_midway_is_logged_with_both_ids(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask("stream_app")
    ApiErrors(app)

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> t.Iterator[str]:
            yield "first\n"
            raise RuntimeError("midway")

        return Response(stream_with_context(chunks()), mimetype="text/plain")

    response = app.test_client().get("/stream", headers={"X-Request-ID": "stream-9"})
    with pytest.raises(RuntimeError, match="midway"):
        response.get_data()
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("stream-9" in line and "error_id=err_" in line for line in lines), lines


def test_a_routing_redirect_in_a_json_scope_is_json(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.get("/items/")
    def items() -> dict[str, bool]:
        return {"ok": True}

    response = app.test_client().get("/items", headers={"X-Request-ID": "redir-1"})
    assert response.status_code == 308
    assert response.headers["Location"] == "http://localhost/items/"
    assert response.mimetype == "application/json"
    body = json.loads(response.data)
    assert body["details"] == {"location": "http://localhost/items/"}
    assert body["error"] == "permanent_redirect"
    assert body["correlation_id"] == "redir-1"
    # It still redirects.
    assert app.test_client().get("/items", follow_redirects=True).get_json() == {"ok": True}


def test_a_routing_redirect_answers_head_without_a_body(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.get("/items/")
    def items() -> dict[str, bool]:
        return {"ok": True}

    client = app.test_client()
    head, get = client.head("/items"), client.get("/items")
    assert head.status_code == get.status_code == 308
    assert head.data == b""
    assert head.headers["Location"] == get.headers["Location"]
    assert head.headers["Content-Type"] == get.headers["Content-Type"] == "application/json"
    assert int(head.headers["Content-Length"]) == len(get.data) > 0


def test_a_redirect_where_apierrors_is_off_stays_html(make_app: MakeApp) -> None:
    app, errors = make_app()
    web = Blueprint("web", __name__, url_prefix="/web")

    @web.get("/page/")
    def page() -> str:
        return "<p>page</p>"

    errors.override(web, enabled=False)
    app.register_blueprint(web)
    response = app.test_client().get("/web/page")
    assert response.status_code == 308
    assert response.mimetype == "text/html"


def test_a_views_own_redirect_is_left_alone(make_app: MakeApp) -> None:
    app, _ = make_app()

    @app.get("/old")
    def old() -> Response:
        return Response("moved", status=302, headers={"Location": "/new"}, mimetype="text/plain")

    response = app.test_client().get("/old")
    assert (response.status_code, response.get_data(as_text=True)) == (302, "moved")
