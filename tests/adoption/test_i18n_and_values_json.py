"""Detail values and error bodies written as the app's JSON provider writes them."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import typing as t
import uuid

import pytest
from flask import Flask

# A JSON provider of the app's own (orjson's, say): its ``dumps`` writes
# error bodies too.
from flask.json.provider import DefaultJSONProvider  # noqa: E402
from flask.json.provider import JSONProvider  # noqa: E402
from flask_babel import Babel
from flask_babel import lazy_gettext

from flask_apierrors import ApiError
from flask_apierrors import ApiErrors


@dataclasses.dataclass
class Point:
    x: int
    y: int


VALUES: list[tuple[str, t.Any, t.Any]] = [
    ("decimal", decimal.Decimal("12.50"), "12.50"),
    ("uuid", uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ("dataclass", Point(1, 2), {"x": 1, "y": 2}),
    ("date", datetime.date(2024, 2, 29), "2024-02-29"),
    (
        "datetime",
        datetime.datetime(2024, 2, 29, 10, 0, tzinfo=datetime.timezone.utc),
        "2024-02-29T10:00:00Z",
    ),
    ("bytes", b"caf\xc3\xa9", "café"),
    ("nan", float("nan"), None),
    ("infinity", float("-inf"), None),
    ("lazy", lazy_gettext("plain text"), "plain text"),
    ("set", frozenset({3}), [3]),
]


@pytest.mark.parametrize(("name", "value", "written"), VALUES, ids=[v[0] for v in VALUES])
def test_detail_values_are_written_like_the_apps_json(
    name: str, value: t.Any, written: t.Any
) -> None:
    app = Flask("values_app")
    Babel(app)
    ApiErrors(app)

    @app.get("/value")
    def value_view() -> t.NoReturn:
        raise ApiError("conflict", details={"value": value})

    with app.test_request_context():
        response = app.test_client().get("/value")
    assert response.status_code == 409
    assert json.loads(response.data)["details"]["value"] == written


@pytest.mark.parametrize(
    ("compact", "sort_keys", "first_key"),
    [(None, True, "correlation_id"), (None, False, "error"), (False, False, "error")],
)
def test_bodies_follow_the_json_providers_settings(
    compact: bool | None, sort_keys: bool, first_key: str
) -> None:
    app = Flask("provider_app")
    app.json.sort_keys = sort_keys  # type: ignore[attr-defined]
    app.json.compact = compact  # type: ignore[attr-defined]
    ApiErrors(app)

    @app.get("/ok")
    def ok() -> dict[str, t.Any]:
        return {"b": 1, "a": [1, 2]}

    client = app.test_client()
    error = client.get("/missing").get_data(as_text=True)
    success = client.get("/ok").get_data(as_text=True)
    assert next(iter(json.loads(error))) == first_key
    # The same separators and indentation as the app's own JSON.
    assert (", " in error) == (", " in success)
    assert ("\n  " in error) == ("\n  " in success) == (compact is False)


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents


def _money_default(value: t.Any) -> t.Any:
    if isinstance(value, Money):
        return {"amount": value.cents}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class OwnProvider(JSONProvider):
    """A provider of its own (as an orjson one is): its ``dumps`` and its
    ``default``, sorted keys and no spaces."""

    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        return json.dumps(
            obj, default=_money_default, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        return json.loads(s)


class DefaultWithOwnDumps(DefaultJSONProvider):
    def dumps(self, obj: t.Any, **kwargs: t.Any) -> str:
        return json.dumps(obj, default=_money_default, separators=(",", ":"))


def _provider_app(provider: type[JSONProvider], value: t.Any) -> Flask:
    app = Flask("own_provider_app")
    app.json = provider(app)
    ApiErrors(app)

    @app.get("/ok")
    def ok() -> dict[str, t.Any]:
        return {"value": value}

    @app.get("/err")
    def err() -> t.NoReturn:
        raise ApiError("conflict", details={"value": value})

    return app


@pytest.mark.parametrize("provider", [OwnProvider, DefaultWithOwnDumps])
def test_a_provider_of_its_own_writes_the_body(provider: type[JSONProvider]) -> None:
    client = _provider_app(provider, Money(5)).test_client()
    assert client.get("/ok").get_json() == {"value": {"amount": 5}}
    response = client.get("/err")
    assert response.status_code == 409
    assert response.get_json()["details"] == {"value": {"amount": 5}}
    if provider is OwnProvider:  # its key order and separators
        assert response.get_data(as_text=True).startswith('{"correlation_id":"')


def test_a_provider_of_its_own_writes_no_nan() -> None:
    client = _provider_app(OwnProvider, [float("nan"), Money(1), float("inf")]).test_client()
    response = client.get("/err")
    assert response.status_code == 409
    body = json.loads(response.data, parse_constant=lambda c: pytest.fail(c))
    assert body["details"]["value"] == [None, {"amount": 1}, None]


@pytest.mark.parametrize(
    ("value", "written"),
    [(object(), "<object>"), ("\ud800", "\ud800"), ({"a": decimal.Decimal("1.5")}, {"a": "1.5"})],
    ids=["no-json-form", "lone-surrogate", "decimal"],
)
def test_what_a_provider_of_its_own_cannot_write_keeps_the_status(
    value: t.Any, written: t.Any
) -> None:
    response = _provider_app(OwnProvider, value).test_client().get("/err")
    assert response.status_code == 409
    assert json.loads(response.data)["details"]["value"] == written


def test_the_default_provider_keeps_its_fast_path() -> None:
    from flask_apierrors import jsonbody

    class Subclass(DefaultJSONProvider):
        sort_keys = True

    assert not jsonbody._writes_itself(DefaultJSONProvider)
    assert not jsonbody._writes_itself(Subclass)
    assert jsonbody._writes_itself(DefaultWithOwnDumps)
    assert jsonbody._writes_itself(OwnProvider)


def test_an_encoder_is_never_another_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Encoders were cached by id(app.json): once an app was gone, a new
    # app's provider could get its id, and its error bodies were written
    # with the old provider's default (seen: 17 apps in 200).
    from flask_apierrors import jsonbody

    class Cents(DefaultJSONProvider):
        @staticmethod
        def default(o: t.Any) -> t.Any:
            return int(o * 100) if isinstance(o, decimal.Decimal) else str(o)

    app = Flask("cents")
    app.json = Cents(app)
    gone = DefaultJSONProvider(Flask("gone"))
    stale = jsonbody._encoder(t.cast(Flask, type("A", (), {"json": gone, "debug": False})()))
    # The gone provider's encoder, left under the id the new provider has.
    for key, (_, encoder) in list(jsonbody._encoders.items()):
        if encoder is stale:
            monkeypatch.setitem(jsonbody._encoders, (id(app.json), *key[1:]), (lambda: gone, stale))
    encoder = jsonbody._encoder(app)
    assert encoder is not stale
    assert json.loads(encoder.encode({"price": decimal.Decimal("1.5")})) == {"price": 150}
