"""The requests the benchmark sends, and what every contender's routes share
(:mod:`benchmarks.contenders`): the schema, the success bodies and the
hand-rolled in-flight limit of those with none of their own."""

from __future__ import annotations

import dataclasses
import functools
import json
import threading
import typing as t

import marshmallow as ma

#: The models the chat schema accepts.
MODELS: t.Final = ("Melanie-3", "Melanie-3-light", "Melanie-3-code")


class MessageSchema(ma.Schema):
    """One chat message."""

    role = ma.fields.String(required=True, validate=ma.validate.OneOf(["user", "assistant"]))
    content = ma.fields.String(required=True, validate=ma.validate.Length(min=1))


class ChatSchema(ma.Schema):
    """A chat request: five fields, one of them a nested list."""

    model = ma.fields.String(required=True, validate=ma.validate.OneOf(MODELS))
    messages = ma.fields.List(
        ma.fields.Nested(MessageSchema), required=True, validate=ma.validate.Length(min=1)
    )
    max_tokens = ma.fields.Integer(load_default=256, validate=ma.validate.Range(1, 4096))
    temperature = ma.fields.Float(load_default=1.0, validate=ma.validate.Range(0.0, 2.0))
    stream = ma.fields.Boolean(load_default=False)


#: A valid chat request.
VALID_CHAT: t.Final[dict[str, t.Any]] = {
    "model": "Melanie-3",
    "messages": [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi, how can I help?"},
        {"role": "user", "content": "Tell me a joke"},
    ],
    "max_tokens": 100,
    "temperature": 0.7,
    "stream": False,
}

#: 3 of 5 fields invalid, one of them inside the nested list.
INVALID_CHAT: t.Final[dict[str, t.Any]] = {
    **VALID_CHAT,
    "model": "gpt-17",
    "messages": [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": ""},
    ],
    "temperature": 7.5,
}


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One request the benchmark sends to every contender.

    :param name: Short key used on the command line and in the table.
    :param label: What the table shows.
    :param method: HTTP method.
    :param path: Request path.
    :param body: Request body bytes.
    :param content_type: ``Content-Type`` of the body.
    :param status_class: The expected status divided by 100 (2, 4 or 5).
    """

    name: str
    label: str
    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None
    status_class: int = 4


SCENARIOS: t.Final[tuple[Scenario, ...]] = (
    Scenario("404", "unknown route (404)", "GET", "/no/such/route"),
    Scenario("405", "wrong method (405)", "DELETE", "/items/1"),
    Scenario("apierror", "error raised in a view", "GET", "/items/404"),
    Scenario(
        "validation",
        "validation, 3 of 5 fields",
        "POST",
        "/chat",
        json.dumps(INVALID_CHAT).encode(),
        "application/json",
    ),
    Scenario(
        "badjson",
        "malformed JSON",
        "POST",
        "/chat",
        b'{"model": "Melanie-3", "messages": [',
        "application/json",
    ),
    Scenario("500", "unhandled exception (500)", "GET", "/boom", status_class=5),
    Scenario("ratelimit", "flask-limiter 429", "GET", "/limited"),
    Scenario("concurrent", "concurrent-limit 429", "GET", "/concurrent"),
    Scenario("success", "success (floor)", "GET", "/items/1", status_class=2),
)


def item(item_id: int) -> dict[str, t.Any]:
    """The success body of ``GET /items/<id>``."""
    return {"id": item_id, "name": f"item {item_id}", "tags": ["a", "b"], "price": 9.5}


def chat_reply(data: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """The success body of ``POST /chat``."""
    return {"object": "chat.completion", "model": data["model"], "choices": []}


F = t.TypeVar("F", bound=t.Callable[..., t.Any])


class InFlight:
    """A hand-rolled concurrent-request limit (what the other contenders need
    to write themselves): at most ``limit`` requests in flight, else
    ``reject()``.

    :param limit: Slots.
    :param held: Slots taken before the benchmark starts, so every request
        is over the limit.
    """

    def __init__(self, limit: int, held: int) -> None:
        self.limit = limit
        self.count = held
        self.lock = threading.Lock()

    def __call__(self, reject: t.Callable[[], t.NoReturn]) -> t.Callable[[F], F]:
        def decorator(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                with self.lock:
                    if self.count >= self.limit:
                        reject()
                    self.count += 1
                try:
                    return view(*args, **kwargs)
                finally:
                    with self.lock:
                        self.count -= 1

            return t.cast(F, wrapper)

        return decorator
