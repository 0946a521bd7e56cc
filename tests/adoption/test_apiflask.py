"""APIFlask apps (the real APIFlask): abort/HTTPError, input validation
(marshmallow and pydantic) and HTTPBasicAuth/HTTPTokenAuth errors in
ApiErrors' format."""

from __future__ import annotations

import logging
import typing as t

import pydantic
import pytest
from apiflask import APIBlueprint
from apiflask import APIFlask
from apiflask import HTTPBasicAuth
from apiflask import HTTPError
from apiflask import HTTPTokenAuth
from apiflask import MultiAuth
from apiflask import Schema
from apiflask import abort
from apiflask.fields import Integer
from apiflask.fields import List
from apiflask.fields import Nested
from apiflask.fields import String
from apiflask.views import MethodView
from flask import Flask

from flask_apierrors import ApiErrors
from flask_apierrors import Problem
from flask_apierrors.integrations.apiflask import ErrorCallback
from flask_apierrors.testing import assert_api_error


class Tag(Schema):
    name = String(required=True)


class PetIn(Schema):
    name = String(required=True)
    age = Integer()
    password = String()
    tags = List(Nested(Tag))


class Query(Schema):
    page = Integer(required=True)


class PetModel(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str] = []
    password: str = ""


def legacy(problem: Problem) -> dict[str, t.Any]:
    """An old body shape, from the framework's own text."""
    return {"message": problem.description, "code": problem.status}


def make_app(**options: t.Any) -> tuple[APIFlask, ApiErrors]:
    app = APIFlask("pets")
    app.config["TESTING"] = True
    errors = ApiErrors(app, **options)
    token = HTTPTokenAuth()
    basic = HTTPBasicAuth()

    @token.verify_token  # type: ignore[untyped-decorator]
    def verify_token(value: str) -> str | None:
        return "alice" if value == "good" else None

    @basic.verify_password  # type: ignore[untyped-decorator]
    def verify_password(username: str, password: str) -> str | None:
        return username if password == "pw" else None

    @basic.get_user_roles  # type: ignore[untyped-decorator]
    def roles(user: str) -> list[str]:
        return ["admin"] if user == "root" else []

    @app.get("/pets/<int:pet_id>")
    def get_pet(pet_id: int) -> t.NoReturn:
        abort(404, "Pet not found", detail={"pet_id": pet_id}, extra_data={"hint": "list /pets"})

    @app.get("/plain")
    def plain() -> t.NoReturn:
        raise HTTPError(409, headers={"X-Reason": "taken"})

    @app.post("/pets")
    @app.input(PetIn)
    def create(json_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return json_data

    @app.get("/search")
    @app.input(Query, location="query")
    def search(query_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return query_data

    @app.post("/strict")
    @app.input(PetIn, error_status_code=409)
    def strict(json_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return json_data

    @app.post("/models")
    @app.input(PetModel)
    def create_model(json_data: PetModel) -> dict[str, t.Any]:
        return json_data.model_dump()

    @app.get("/token")
    @app.auth_required(token)
    def with_token() -> str:
        return "ok"

    @app.get("/admin")
    @app.auth_required(basic, roles=["admin"])
    def admin() -> str:
        return "ok"

    web = APIBlueprint("web", __name__, url_prefix="/web")

    @web.get("/pets/<int:pet_id>")
    def web_pet(pet_id: int) -> t.NoReturn:
        abort(404, "No such pet")

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    return app, errors


@pytest.fixture
def app() -> APIFlask:
    return make_app()[0]


def test_abort_keeps_message_detail_and_extra_data(app: APIFlask) -> None:
    response = app.test_client().get("/pets/7")
    error = assert_api_error(response, "not_found", app=app, message="Pet not found")
    assert error.details == {"pet_id": 7, "hint": "list /pets"}


def test_http_error_headers_kept_and_reason_phrase_replaced(app: APIFlask) -> None:
    response = app.test_client().get("/plain")
    assert_api_error(response, "conflict", app=app, message="Conflict")
    assert response.headers["X-Reason"] == "taken"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/pets/7", {"message": "Pet not found", "code": 404}),
        ("/plain", {"message": "Conflict", "code": 409}),
        ("/token", {"message": "Unauthorized", "code": 401}),
    ],
)
def test_description_is_apiflasks_text(path: str, body: dict[str, t.Any]) -> None:
    app = make_app(format=legacy)[0]
    assert app.test_client().get(path).get_json() == body


def test_validation_error_entries(app: APIFlask) -> None:
    response = app.test_client().post(
        "/pets", json={"age": "old", "password": "hunter2", "tags": [{"name": 3}]}
    )
    error = assert_api_error(response, "validation_error", app=app)
    assert error.message == "Request validation failed"
    entries = response.get_json()["details"]["validation_errors"]
    assert entries == [
        {"field": "name", "message": "Field required", "invalid_value": None, "location": "json"},
        {
            "field": "age",
            "message": "Not a valid integer.",
            "invalid_value": "old",
            "location": "json",
        },
        {
            "field": "tags[0].name",
            "message": "Not a valid string.",
            "invalid_value": 3,
            "location": "json",
        },
    ]


def test_credentials_are_not_echoed() -> None:
    app = make_app()[0]

    @app.post("/login")
    @app.input(PetIn)
    def login(json_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return json_data

    response = app.test_client().post("/login", json={"name": "x", "password": 12})
    entries = response.get_json()["details"]["validation_errors"]
    assert entries == [
        {
            "field": "password",
            "message": "Not a valid string.",
            "invalid_value": "[REDACTED]",
            "location": "json",
        }
    ]


def test_query_validation_names_the_location(app: APIFlask) -> None:
    response = app.test_client().get("/search?page=two")
    assert_api_error(response, "validation_error", app=app)
    [entry] = response.get_json()["details"]["validation_errors"]
    assert entry == {
        "field": "page",
        "message": "Not a valid integer.",
        "invalid_value": "two",
        "location": "query",
    }


def test_validation_status_setting_replaces_apiflasks_default() -> None:
    app = make_app(validation_status=422)[0]
    response = app.test_client().post("/pets", json={})
    error = assert_api_error(response, "validation_error", app=app)
    assert error.status == 422


def test_a_status_chosen_for_the_route_is_kept(app: APIFlask) -> None:
    response = app.test_client().post("/strict", json={})
    assert_api_error(response, "validation_error", 409, app=app)


def test_pydantic_input(app: APIFlask) -> None:
    response = app.test_client().post(
        "/models", json={"age": "old", "tags": ["a", 2], "password": 12}
    )
    assert_api_error(response, "validation_error", app=app)
    entries = response.get_json()["details"]["validation_errors"]
    assert [(e["field"], e["invalid_value"], e["location"]) for e in entries] == [
        ("name", None, "json"),
        ("age", "old", "json"),
        ("tags[1]", 2, "json"),
        ("password", "[REDACTED]", "json"),
    ]
    assert entries[0]["message"] == "Field required"


def test_token_auth_401_keeps_the_challenge(app: APIFlask) -> None:
    response = app.test_client().get("/token", headers={"Authorization": "Bearer bad"})
    assert_api_error(response, "unauthorized", app=app, message="Authentication required")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    assert app.test_client().get("/token", headers={"Authorization": "Bearer good"}).text == "ok"


def test_basic_auth_403_for_a_missing_role(app: APIFlask) -> None:
    client = app.test_client()
    response = client.get("/admin", auth=("alice", "pw"))
    assert_api_error(response, "forbidden", app=app)
    assert client.get("/admin", auth=("root", "pw")).text == "ok"
    assert_api_error(client.get("/admin"), "unauthorized", app=app)


def test_routing_errors_are_apierrors(app: APIFlask) -> None:
    assert_api_error(app.test_client().get("/nope"), "not_found", app=app)


def test_apiflask_answers_where_apierrors_is_off(app: APIFlask) -> None:
    response = app.test_client().get("/web/pets/1")
    assert response.status_code == 404
    assert response.get_json() == {"detail": {}, "message": "No such pet"}


@pytest.mark.parametrize("processor_first", [True, False], ids=["before", "after"])
def test_error_processor_answers_where_apierrors_is_off(
    processor_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # Defined before ApiErrors or after it (APIFlask registers its handler
    # again then): ApiErrors answers, the processor where ApiErrors is off.
    app = APIFlask("processed")

    def processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"oops": error.message}, error.status_code

    if processor_first:
        app.error_processor(processor)
    errors = ApiErrors(app)
    web = APIBlueprint("web", __name__)

    @web.get("/web")
    def page() -> t.NoReturn:
        abort(418)

    @app.get("/api")
    def api() -> t.NoReturn:
        abort(418)

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    if not processor_first:
        app.error_processor(processor)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        assert_api_error(client.get("/nowhere"), "not_found", app=app)
    assert_api_error(client.get("/api"), "im_a_teapot", app=app)
    assert client.get("/web").get_json() == {"oops": "I'm a teapot"}
    assert isinstance(app.error_callback, ErrorCallback)
    assert not [r for r in caplog.records if "handle_werkzeug_errors" in r.getMessage()]


@pytest.mark.parametrize("status", [499, 200])
def test_http_error_subclass_of_a_status_werkzeug_does_not_know(status: int) -> None:
    # As for a Werkzeug HTTPException of that status: kept, with a code
    # named after the class.
    class ClientClosed(HTTPError):
        status_code = status
        message = "client closed"

    app = make_app()[0]

    @app.get("/closed")
    def closed() -> t.NoReturn:
        raise ClientClosed()

    response = app.test_client().get("/closed")
    assert_api_error(response, "client_closed", status, app=app, message="client closed")


@pytest.mark.parametrize("processor_first", [True, False], ids=["before", "after"])
def test_auth_error_processor_answers_where_apierrors_is_off(processor_first: bool) -> None:
    app = APIFlask("guarded")
    if processor_first:
        errors = ApiErrors(app)
    auth = HTTPTokenAuth()

    @auth.verify_token  # type: ignore[untyped-decorator]
    def verify_token(value: str) -> str | None:
        return None

    @auth.error_processor
    def auth_processor(error: HTTPError) -> tuple[dict[str, t.Any], int, t.Any]:
        return {"code": 1, "msg": error.message}, error.status_code, error.headers

    @app.get("/me")
    @app.auth_required(auth)
    def me() -> dict[str, t.Any]:
        return {}

    web = APIBlueprint("web", __name__)

    @web.get("/web/me")
    @web.auth_required(auth)
    def web_me() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(web)
    if not processor_first:
        errors = ApiErrors(app)
    errors.override(web, enabled=False)
    client = app.test_client()
    response = client.get("/me")
    assert_api_error(response, "unauthorized", app=app, message="Authentication required")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    response = client.get("/web/me")
    assert response.status_code == 401
    assert response.get_json() == {"code": 1, "msg": "Unauthorized"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'


def test_auth_error_processor_of_a_method_view_and_a_blueprint_guard() -> None:
    # auth_required on a MethodView's method, and on a blueprint's
    # before_request (a MultiAuth there).
    app = APIFlask("guarded_views")
    ApiErrors(app)
    token = HTTPTokenAuth()
    basic = HTTPBasicAuth()

    @token.error_processor
    def token_processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"code": 1}, error.status_code

    @basic.error_processor
    def basic_processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"code": 2}, error.status_code

    class Pet(MethodView):
        @app.auth_required(token)
        def get(self) -> dict[str, t.Any]:
            return {}

    app.add_url_rule("/pet", view_func=Pet.as_view("pet"))
    guarded = APIBlueprint("guarded", __name__, url_prefix="/guarded")

    @guarded.before_request
    @guarded.auth_required(MultiAuth(basic, HTTPTokenAuth()))
    def guard() -> None:
        pass

    @guarded.get("/pets")
    def pets() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(guarded)
    client = app.test_client()
    assert_api_error(client.get("/pet"), "unauthorized", app=app)
    assert_api_error(client.get("/guarded/pets"), "unauthorized", app=app)


def test_plain_flask_apps_are_left_alone() -> None:
    app = Flask("plain")
    ApiErrors(app)
    assert not hasattr(app, "error_callback")


@pytest.mark.parametrize("handler_first", [True, False], ids=["before", "after"])
def test_the_apps_own_http_error_handler_keeps_answering(
    handler_first: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = APIFlask("own_http_error")

    def mine(e: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"mine": e.message}, e.status_code

    if handler_first:
        app.register_error_handler(HTTPError, mine)
    ApiErrors(app)
    if not handler_first:
        app.register_error_handler(HTTPError, mine)

    @app.get("/x")
    def x() -> t.NoReturn:
        abort(409, message="dup")

    client = app.test_client()
    with caplog.at_level(logging.WARNING, "flask_apierrors"):
        response = client.get("/x")
    assert (response.status_code, response.get_json()) == (409, {"mine": "dup"})
    assert caplog.records == []
    # APIFlask's HTTPException handler is still taken over.
    assert_api_error(client.get("/missing"), "not_found", app=app)


def test_an_auth_object_of_login_required_only_needs_api_errors() -> None:
    # Not given to app.auth_required, so not found: the app wraps it itself,
    # as adopting.rst says.
    from flask_apierrors.integrations.httpauth import api_errors

    app = APIFlask("login_required_only")
    errors = ApiErrors(app)
    auth = api_errors(HTTPTokenAuth())

    @auth.error_processor
    def legacy_processor(error: HTTPError) -> tuple[dict[str, t.Any], int]:
        return {"legacy": error.message}, error.status_code

    @app.get("/b")
    @auth.login_required  # type: ignore[untyped-decorator]
    def b() -> dict[str, t.Any]:
        return {}

    web = APIBlueprint("web", __name__, url_prefix="/web")

    @web.get("/b")
    @auth.login_required  # type: ignore[untyped-decorator]
    def web_b() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(web)
    errors.override(web, enabled=False)
    client = app.test_client()
    response = client.get("/b")
    assert_api_error(response, "unauthorized", app=app)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'
    assert client.get("/web/b").get_json() == {"legacy": "Unauthorized"}
