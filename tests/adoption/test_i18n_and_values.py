"""Messages translated per request (flask-babel, or the ``translate`` setting)."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import abort
from flask import request
from flask_babel import Babel
from flask_babel import lazy_gettext

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors
from flask_apierrors import Catalog

CATALOG_PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"

msgid "Job not found"
msgstr "Auftrag nicht gefunden"

msgid "The quota is used up"
msgstr "Das Kontingent ist aufgebraucht"
"""


@pytest.fixture
def translations(tmp_path: Path) -> Path:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    folder = tmp_path / "translations" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    import io

    catalog = read_po(io.StringIO(CATALOG_PO), locale="de")
    with open(folder / "messages.mo", "wb") as out:
        write_mo(out, catalog)
    return tmp_path / "translations"


def babel_app(translations: Path) -> Flask:
    app = Flask("i18n_app")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(translations)
    Babel(app, locale_selector=lambda: request.accept_languages.best_match(["de", "en"]))
    catalog = Catalog.default()
    catalog.add("job_not_found", 404, "Job not found", group="resource")
    ApiErrors(app, catalog=catalog)

    @app.get("/jobs/<job_id>")
    def job(job_id: str) -> t.NoReturn:
        raise ApiError("job_not_found", details={"job_id": job_id})

    @app.get("/quota")
    def quota() -> t.NoReturn:
        raise ApiError("quota", lazy_gettext("The quota is used up"), status=402)

    @app.get("/described")
    def described() -> t.NoReturn:
        abort(400, description={"field": "name"})

    return app


@pytest.mark.parametrize(
    ("language", "path", "message"),
    [
        ("de", "/jobs/7", "Auftrag nicht gefunden"),
        ("en", "/jobs/7", "Job not found"),
        ("de", "/quota", "Das Kontingent ist aufgebraucht"),
        ("en", "/quota", "The quota is used up"),
    ],
)
def test_messages_follow_the_requests_locale(
    translations: Path, language: str, path: str, message: str
) -> None:
    client = babel_app(translations).test_client()
    response = client.get(path, headers={"Accept-Language": language})
    assert response.get_json()["message"] == message


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_message_that_is_not_text_is_translated_as_the_default(
    translations: Path, language: str
) -> None:
    # gettext takes text only: a dict description reached it and the 400 became a 500.
    response = (
        babel_app(translations)
        .test_client()
        .get("/described", headers={"Accept-Language": language})
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_a_translate_setting_wins() -> None:
    app = Flask("translate_app")
    ApiErrors(app, translate=lambda text: text.upper())
    assert app.test_client().get("/missing").get_json()["message"] == "ENDPOINT NOT FOUND"


def _abort_with_message(framework: str, message: t.Any) -> t.NoReturn:
    if framework == "flask_smorest":
        from flask_smorest import abort as smorest_abort

        smorest_abort(409, message=message)
    if framework == "flask_restful":
        from flask_restful import abort as restful_abort  # type: ignore[import-untyped]

        restful_abort(409, message=message)
    from flask_restx import abort as restx_abort

    restx_abort(409, message)
    raise AssertionError("abort returned")


FRAMEWORKS = ["flask_smorest", "flask_restful", "flask_restx"]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_frameworks_abort_message_is_translated(framework: str) -> None:
    # It was put in the body after translation: the translate hook saw the
    # catalog's "Conflict" only, and the abort's message stayed English.
    pytest.importorskip(framework)
    seen: list[str] = []

    def translate(text: str) -> str:
        seen.append(text)
        return text.upper()

    app = Flask("aborts")
    ApiErrors(app, translate=translate)

    @app.get("/items/1")
    def item() -> t.NoReturn:
        _abort_with_message(framework, "This item exists")

    response = app.test_client().get("/items/1")
    assert (response.status_code, response.get_json()["message"]) == (409, "THIS ITEM EXISTS")
    assert "This item exists" in seen


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize(
    ("language", "message"), [("de", "Auftrag nicht gefunden"), ("en", "Job not found")]
)
def test_a_lazy_abort_message_is_read_in_the_requests_locale(
    translations: Path, framework: str, language: str, message: str
) -> None:
    # A lazy_gettext message is not a str: the body said "Conflict" instead.
    pytest.importorskip(framework)
    app = babel_app(translations)

    @app.get("/conflict")
    def conflict() -> t.NoReturn:
        _abort_with_message(framework, lazy_gettext("Job not found"))

    response = app.test_client().get("/conflict", headers={"Accept-Language": language})
    assert (response.status_code, response.get_json()["message"]) == (409, message)


def _translated_app(translate: t.Callable[[str], t.Any]) -> Flask:
    from marshmallow import Schema
    from marshmallow import fields

    from flask_apierrors import use_schema

    class Signup(Schema):
        email = fields.Email(required=True)

    app = Flask("translated_app")
    ApiErrors(app, format="problem", translate=translate)

    @app.post("/signups")
    @use_schema(Signup)
    def signup(body: t.Any) -> dict[str, t.Any]:
        return {}

    @app.get("/none")
    def none() -> t.NoReturn:
        raise ApiError("not_found", None)

    @app.get("/described")
    def described() -> t.NoReturn:
        abort(400, description={"field": "name"})

    return app


def test_only_the_message_is_translated() -> None:
    # docs/formats.rst, "Messages in the client's language".
    seen: list[str] = []

    def translate(text: str) -> str:
        seen.append(text)
        return text.upper()

    body = _translated_app(translate).test_client().post("/signups", json={}).get_json()
    assert seen == ["Request validation failed"]
    assert body["detail"] == "REQUEST VALIDATION FAILED"
    assert body["code"] == "validation_error"
    assert body["title"] == "Bad Request"
    assert body["details"]["validation_errors"][0]["message"] == "Field required"
    assert body["errors"][0]["detail"] == "Field required"


def test_a_translation_that_is_not_text_leaves_the_message() -> None:
    untranslated: dict[str, str] = {}
    app = _translated_app(untranslated.get)
    assert app.test_client().get("/none").get_json()["detail"] == "Resource not found"


def test_a_message_that_is_not_text_is_the_catalogs_translated() -> None:
    app = _translated_app(str.upper)
    assert app.test_client().get("/none").get_json()["detail"] == "RESOURCE NOT FOUND"
    assert app.test_client().get("/described").get_json()["detail"] == "BAD REQUEST"


def test_a_translate_setting_from_the_config() -> None:
    app = Flask("configured_app")
    app.config["APIERRORS_TRANSLATE"] = {"Endpoint not found": "Introuvable"}.get
    ApiErrors(app)
    assert app.test_client().get("/missing").get_json()["message"] == "Introuvable"


def test_a_lazy_field_message_is_read_in_the_requests_locale(translations: Path) -> None:
    from marshmallow import Schema
    from marshmallow import fields

    from flask_apierrors import use_schema

    class Job(Schema):
        # Any message of the test catalog will do.
        name = fields.String(
            required=True, error_messages={"required": lazy_gettext("Job not found")}
        )

    app = babel_app(translations)

    @app.post("/jobs")
    @use_schema(Job)
    def create(body: t.Any) -> dict[str, t.Any]:
        return {}

    client = app.test_client()
    for language, message in [("de", "Auftrag nicht gefunden"), ("en", "Job not found")]:
        body = client.post("/jobs", json={}, headers={"Accept-Language": language}).get_json()
        assert body["details"]["validation_errors"][0]["message"] == message
