"""The APIFlask pets app (schemas, routes, auth) shared by the test_apiflask* modules."""

from __future__ import annotations

import typing as t

import pydantic
import pytest
from apiflask import APIBlueprint
from apiflask import APIFlask
from apiflask import HTTPBasicAuth
from apiflask import HTTPError
from apiflask import HTTPTokenAuth
from apiflask import Schema
from apiflask import abort
from apiflask.fields import Integer
from apiflask.fields import List
from apiflask.fields import Nested
from apiflask.fields import String

from flask_apierrors import ApiErrors


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


@pytest.fixture(name="app")
def app_fixture() -> APIFlask:
    """The pets app, as the ``app`` fixture (import ``app_fixture`` to use it)."""
    return make_app()[0]
