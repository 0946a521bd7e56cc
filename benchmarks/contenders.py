"""The same small API built five ways (the requests are :mod:`benchmarks.scenarios`).

Every contender serves the same routes with the same view logic; only the
error handling differs:

``flask``
    Plain Flask: Werkzeug's HTML error pages.
``jsonify``
    A minimal hand-written ``jsonify`` error handler, what users write by hand.
``apiflask``
    APIFlask (``@app.input`` validation, ``HTTPError``).
``smorest``
    flask-smorest (``@blp.arguments`` validation, webargs ``abort``).
``apierrors``
    flask-apierrors (``ApiErrors``, ``ApiError``, its validation and limit
    integrations where they are installed).

Routes: ``GET /items/<id>`` (200, or the application error for id 404),
``POST /chat`` (a marshmallow schema of 5 fields, one a nested list),
``GET /boom`` (an unhandled exception), ``GET /limited`` (flask-limiter,
memory storage, 1 per day), ``GET /concurrent`` (at most one request in
flight, with the one slot already held).
"""

from __future__ import annotations

import logging
import threading
import typing as t

import marshmallow as ma
from flask import Flask
from flask import abort
from flask import jsonify
from flask import request
from flask_limiter import Limiter
from werkzeug.exceptions import HTTPException

from benchmarks.scenarios import ChatSchema
from benchmarks.scenarios import InFlight
from benchmarks.scenarios import chat_reply
from benchmarks.scenarios import item

if t.TYPE_CHECKING:
    from flask.typing import ResponseReturnValue

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def _quiet_logger(name: str) -> None:
    """Logging stays on (level ERROR, records are created and filtered) but
    goes to a :class:`logging.NullHandler`; set before ``app.logger`` is
    first used, so Flask does not add its stderr handler."""
    logger = logging.getLogger(name)
    logger.handlers[:] = [logging.NullHandler()]
    logger.setLevel(logging.ERROR)
    logger.propagate = False


def _limiter(app: Flask, storage_uri: str = "memory://") -> Limiter:
    return Limiter(lambda: "bench", app=app, storage_uri=storage_uri)


def _base_app(name: str) -> Flask:
    _quiet_logger(name)
    app = Flask(name)
    app.config["TESTING"] = False
    return app


def _boom() -> t.NoReturn:
    raise RuntimeError("database connection lost: password=hunter2")


# -- plain Flask ---------------------------------------------------------------


def make_flask() -> Flask:
    """Plain Flask: HTML error pages; validation errors abort with 400."""
    app = _base_app("bench_flask")
    limiter = _limiter(app)
    in_flight = InFlight(1, held=1)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> ResponseReturnValue:
        if item_id == 404:
            abort(404, description=f"Item {item_id} was not found")
        return item(item_id)

    @app.post("/chat")
    def chat() -> ResponseReturnValue:
        try:
            data = ChatSchema().load(request.get_json())
        except ma.ValidationError as err:
            abort(400, description=str(err.messages))
        return chat_reply(data)

    @app.get("/boom")
    def boom() -> ResponseReturnValue:
        _boom()

    @app.get("/limited")
    @limiter.limit("1 per day")
    def limited() -> ResponseReturnValue:
        return {"ok": True}

    @app.get("/concurrent")
    @in_flight(lambda: abort(429))
    def concurrent() -> ResponseReturnValue:
        return {"ok": True}

    return app


# -- the hand-written jsonify handler ------------------------------------------


class AppError(Exception):
    """What a hand-written API raises: a code, a status, a message, details."""

    def __init__(self, code: str, status: int, message: str, **details: t.Any) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details


def make_jsonify() -> Flask:
    """The minimal hand-written ``jsonify`` error handlers."""
    app = _base_app("bench_jsonify")
    limiter = _limiter(app)
    in_flight = InFlight(1, held=1)

    @app.errorhandler(AppError)
    def app_error(e: AppError) -> ResponseReturnValue:
        return jsonify(error=e.code, message=e.message, details=e.details), e.status

    @app.errorhandler(ma.ValidationError)
    def validation_error(e: ma.ValidationError) -> ResponseReturnValue:
        body = {"error": "validation_error", "message": "Validation failed", "details": e.messages}
        return jsonify(body), 400

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> ResponseReturnValue:
        return jsonify(error=e.name, message=e.description), e.code or 500

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> ResponseReturnValue:
        if item_id == 404:
            raise AppError("item_not_found", 404, "Item not found", item_id=item_id)
        return item(item_id)

    @app.post("/chat")
    def chat() -> ResponseReturnValue:
        data = ChatSchema().load(request.get_json())
        return chat_reply(data)

    @app.get("/boom")
    def boom() -> ResponseReturnValue:
        _boom()

    @app.get("/limited")
    @limiter.limit("1 per day")
    def limited() -> ResponseReturnValue:
        return {"ok": True}

    @app.get("/concurrent")
    @in_flight(lambda: abort(429))
    def concurrent() -> ResponseReturnValue:
        return {"ok": True}

    return app


# -- APIFlask ------------------------------------------------------------------


def make_apiflask() -> Flask:
    """APIFlask with its default JSON errors and ``@app.input`` validation."""
    from apiflask import APIFlask
    from apiflask import HTTPError

    _quiet_logger("bench_apiflask")
    app = APIFlask("bench_apiflask", spec_path=None, docs_path=None)
    app.config["TESTING"] = False
    limiter = _limiter(app)
    in_flight = InFlight(1, held=1)

    def reject() -> t.NoReturn:
        raise HTTPError(429, "Too many concurrent requests")

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> ResponseReturnValue:
        if item_id == 404:
            raise HTTPError(404, "Item not found", extra_data={"item_id": item_id})
        return item(item_id)

    @app.post("/chat")
    @app.input(ChatSchema, location="json")  # type: ignore[arg-type]
    def chat(json_data: dict[str, t.Any]) -> ResponseReturnValue:
        return chat_reply(json_data)

    @app.get("/boom")
    def boom() -> ResponseReturnValue:
        _boom()

    @app.get("/limited")
    @limiter.limit("1 per day")
    def limited() -> ResponseReturnValue:
        return {"ok": True}

    @app.get("/concurrent")
    @in_flight(reject)
    def concurrent() -> ResponseReturnValue:
        return {"ok": True}

    return app


# -- flask-smorest -------------------------------------------------------------

View = t.Callable[..., t.Any]


def _typed(decorator: t.Any) -> t.Callable[[View], View]:
    """flask-smorest's decorators, typed (the package ships no annotations)."""
    return t.cast("t.Callable[[View], View]", decorator)


def make_smorest() -> Flask:
    """flask-smorest with its JSON errors and ``@blp.arguments`` validation."""
    from flask_smorest import Api
    from flask_smorest import Blueprint
    from flask_smorest import abort as smorest_abort

    app = _base_app("bench_smorest")
    app.config.update(API_TITLE="bench", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    limiter = _limiter(app)
    in_flight = InFlight(1, held=1)
    blp = Blueprint("api", "bench_smorest")

    def reject() -> t.NoReturn:
        smorest_abort(429, message="Too many concurrent requests")
        raise AssertionError("abort() raises")

    @_typed(blp.route("/items/<int:item_id>", methods=["GET"]))
    def get_item(item_id: int) -> ResponseReturnValue:
        if item_id == 404:
            smorest_abort(404, message="Item not found", errors={"item_id": item_id})
        return item(item_id)

    @_typed(blp.route("/chat", methods=["POST"]))
    @_typed(blp.arguments(ChatSchema))
    def chat(data: dict[str, t.Any]) -> ResponseReturnValue:
        return chat_reply(data)

    @_typed(blp.route("/boom", methods=["GET"]))
    def boom() -> ResponseReturnValue:
        _boom()

    @_typed(blp.route("/limited", methods=["GET"]))
    @limiter.limit("1 per day")
    def limited() -> ResponseReturnValue:
        return {"ok": True}

    @_typed(blp.route("/concurrent", methods=["GET"]))
    @in_flight(reject)
    def concurrent() -> ResponseReturnValue:
        return {"ok": True}

    api.register_blueprint(blp)
    return app


# -- flask-apierrors -----------------------------------------------------------


def make_apierrors(
    install: bool = True, *, features: bool = True, storage_uri: str = "memory://"
) -> Flask:
    """flask-apierrors with its own validation decorator and concurrency
    limiter (flask-limiter's 429s are picked up by ``ApiErrors`` itself).

    :param install: ``False`` builds the same app without ``ApiErrors`` (the
        success-path comparison).
    :param features: ``False`` leaves out ``use_schema`` and the
        ``ConcurrencyLimiter`` (validation and the concurrency limit are then
        hand-rolled as in the other contenders), so that ``install`` is the
        only difference.
    :param storage_uri: flask-limiter storage.
    """
    from flask_apierrors import ApiError
    from flask_apierrors import ApiErrors

    app = _base_app("bench_apierrors" if install else "bench_bare")
    limiter = _limiter(app, storage_uri)
    if install:
        ApiErrors(app)

    @app.get("/items/<int:item_id>")
    def get_item(item_id: int) -> ResponseReturnValue:
        if item_id == 404:
            raise ApiError("not_found", "Item not found", details={"item_id": item_id})
        return item(item_id)

    @app.get("/boom")
    def boom() -> ResponseReturnValue:
        _boom()

    @app.get("/limited")
    @limiter.limit("1 per day")
    def limited() -> ResponseReturnValue:
        return {"ok": True}

    if not (install and features):

        @app.post("/chat")
        def chat_bare() -> ResponseReturnValue:
            try:
                data = ChatSchema().load(request.get_json())
            except ma.ValidationError as err:
                abort(400, description=str(err.messages))
            return chat_reply(data)

        @app.get("/concurrent")
        @InFlight(1, held=1)(lambda: abort(429))
        def concurrent_bare() -> ResponseReturnValue:
            return {"ok": True}

        return app

    from flask_apierrors.concurrency import ConcurrencyLimiter
    from flask_apierrors.validation import use_schema

    @app.post("/chat")
    @use_schema(ChatSchema)
    def chat(data: dict[str, t.Any]) -> ResponseReturnValue:
        return chat_reply(data)

    concurrency = ConcurrencyLimiter(app, key_func=lambda: "bench", concurrency_slot_ttl=3600)
    entered = threading.Event()
    release = threading.Event()

    @app.get("/concurrent")
    @concurrency.limit(1)
    def concurrent() -> ResponseReturnValue:
        if request.args.get("hold"):
            entered.set()
            release.wait()
        return {"ok": True}

    _hold_slot(app, entered)
    return app


def _hold_slot(app: Flask, entered: threading.Event) -> None:
    """Take the one slot of ``/concurrent`` with a request that never ends
    (a daemon thread), so every benchmarked request is over the limit."""

    def hold() -> None:
        app.test_client().get("/concurrent?hold=1").close()

    threading.Thread(target=hold, daemon=True, name="hold-concurrency-slot").start()
    if not entered.wait(10):
        raise RuntimeError("the slot-holding request did not start")


#: name -> (label, factory)
CONTENDERS: t.Final[dict[str, tuple[str, t.Callable[[], Flask]]]] = {
    "flask": ("plain Flask (HTML)", make_flask),
    "jsonify": ("hand-written jsonify", make_jsonify),
    "apiflask": ("APIFlask", make_apiflask),
    "smorest": ("flask-smorest", make_smorest),
    "apierrors": ("flask-apierrors", make_apierrors),
}
