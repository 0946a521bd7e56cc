"""flask-limiter 429s in the documented bodies, their headers, and the outage
policy for flask-limiter's storage (memory storage only; real Redis is in
test_limits_gunicorn.py)."""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import time
import typing as t
from datetime import datetime
from datetime import timezone

import pytest
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import g
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from flask_apierrors import ApiErrors
from flask_apierrors.quota import partition_key

flask_limiter = pytest.importorskip("flask_limiter")
from flask_limiter import Limiter  # noqa: E402
from flask_limiter import RateLimitExceeded  # noqa: E402
from flask_limiter import RequestLimit  # noqa: E402
from limits.storage import MemoryStorage  # noqa: E402
from limits.storage import Storage  # noqa: E402

from flask_apierrors.ratelimit import convert  # noqa: E402
from flask_apierrors.ratelimit import guard  # noqa: E402
from flask_apierrors.ratelimit.convert import RateLimitInfo  # noqa: E402
from flask_apierrors.ratelimit.guard import GuardedStorage  # noqa: E402
from tests.adoption import set_up  # noqa: E402
from tests.support.seeds import seed_examples  # noqa: E402

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")
DETAILS_ALL = ("limit", "remaining", "reset", "reset_at", "window", "retry_after")
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _seed_body(seed: str, section_end: str, example: str | None = None) -> dict[str, t.Any]:
    for entry in seed_examples():
        if (
            entry["seed"].startswith(seed)
            and entry["section"].endswith(section_end)
            and entry["example"] == example
        ):
            body: dict[str, t.Any] = entry["body"]
            return body
    raise LookupError(section_end)


def _make(
    limit: str = "2/minute",
    *,
    apierrors_first: bool = True,
    limiter_options: dict[str, t.Any] | None = None,
    config: dict[str, t.Any] | None = None,
    **options: t.Any,
) -> tuple[Flask, Limiter]:
    app = Flask("limited")
    app.config["TESTING"] = True
    app.config.update(config or {})
    # Details come "in order": the order shows when the app's JSON provider
    # keeps it (Flask's default sorts keys).
    app.json.sort_keys = False  # type: ignore[attr-defined]
    limiter = Limiter(lambda: "client", storage_uri="memory://", **(limiter_options or {}))
    set_up(app, limiter.init_app, apierrors_first, **options)

    @app.get("/limited")
    @limiter.limit(limit)
    def limited() -> dict[str, bool]:
        return {"ok": True}

    return app, limiter


def _exhaust(client: FlaskClient, n: int, path: str = "/limited") -> TestResponse:
    for _ in range(n):
        ok = client.get(path)
        assert ok.status_code == 200, ok.get_data(as_text=True)
    response = client.get(path)
    assert response.status_code == 429
    return response


def _details(body: dict[str, t.Any]) -> dict[str, t.Any]:
    inner = body["detail"] if isinstance(body.get("detail"), dict) else body
    details: dict[str, t.Any] = inner["details"]
    return details


def _without_ids(body: dict[str, t.Any]) -> dict[str, t.Any]:
    body = json.loads(json.dumps(body))
    body.pop("correlation_id", None)
    if "detail" in body:
        body["detail"].pop("correlation_id", None)
    return body


# -- the documented bodies ------------------------------------------------------------------


def test_second_documented_body() -> None:
    app, _ = _make("100/minute", format="error")
    seed = _seed_body("003", "429 Too Many Requests", "Rate Limit Exceeded")
    response = _exhaust(app.test_client(), 100)
    body = _without_ids(response.get_json())
    assert list(body) == list(seed)
    assert list(body["details"]) == list(seed["details"])
    assert ISO.fullmatch(body["details"]["reset_at"])
    assert ISO.fullmatch(body["timestamp"])
    assert isinstance(body["details"]["retry_after"], int)
    for key in ("reset_at", "retry_after"):
        body["details"][key] = seed["details"][key]
    body["timestamp"] = seed["timestamp"]
    assert body == seed
    assert response.mimetype == "application/json"


def test_first_documented_body() -> None:
    app, _ = _make("60/minute", format="detail")
    seed = _seed_body("000", "Rate Limiting Errors (4xx) / RATE_LIMIT_EXCEEDED")
    body = _without_ids(_exhaust(app.test_client(), 60).get_json())
    assert 1 <= body["detail"]["details"]["retry_after"] <= 61
    body["detail"]["details"]["retry_after"] = seed["detail"]["details"]["retry_after"]
    assert body == seed


@pytest.mark.parametrize(
    ("fmt", "details"),
    [
        ("error", ["limit", "remaining", "reset_at", "retry_after"]),
        ("problem", ["limit", "remaining", "reset_at", "retry_after"]),
        ("error_code", ["limit", "window", "retry_after"]),
        ("detail", ["limit", "window", "retry_after"]),
    ],
)
def test_details_follow_the_format(fmt: str, details: list[str]) -> None:
    app, _ = _make(format=fmt)
    body = _exhaust(app.test_client(), 2).get_json()
    assert list(_details(body)) == details


def test_blueprint_override_chooses_its_shape() -> None:
    app = Flask("bp")
    ext = ApiErrors(app, format="error")
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
    legacy = Blueprint("legacy", __name__, url_prefix="/legacy")

    @legacy.get("/x")
    @limiter.limit("1/minute")
    def legacy_view() -> str:
        return "ok"

    app.register_blueprint(legacy)
    ext.override(legacy, format="detail")
    body = _exhaust(app.test_client(), 1, "/legacy/x").get_json()
    assert body["detail"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert body["detail"]["details"]["window"] == "1 minute"


@pytest.mark.parametrize(
    ("limit", "hits", "message", "window"),
    [
        ("100/minute", 100, "Rate limit of 100 requests per minute exceeded", "1 minute"),
        ("1/second", 1, "Rate limit of 1 request per second exceeded", "1 second"),
        ("5 per 10 seconds", 5, "Rate limit of 5 requests per 10 seconds exceeded", "10 seconds"),
        ("3/hour", 3, "Rate limit of 3 requests per hour exceeded", "1 hour"),
    ],
)
def test_messages_and_windows(limit: str, hits: int, message: str, window: str) -> None:
    app, _ = _make(limit, format="error", ratelimit_details=("limit", "window"))
    body = _exhaust(app.test_client(), hits).get_json()
    assert body["message"] == message
    assert body["details"]["window"] == window


def test_configured_details_and_message() -> None:
    app, _ = _make(
        "2/minute",
        format="detail",
        ratelimit_details=["retry_after", "reset", "limit"],
        ratelimit_message="Only {limit} {requests} per {period}",
    )
    response = _exhaust(app.test_client(), 2)
    inner = response.get_json()["detail"]
    assert inner["message"] == "Only 2 requests per minute"
    assert list(inner["details"]) == ["retry_after", "reset", "limit"]
    assert inner["details"]["reset"] == int(response.headers["X-RateLimit-Reset"])


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"ratelimit_details": ("limit", "burst")}, "burst"),
        ({"ratelimit_message": "{nope} exceeded"}, "nope"),
        ({"ratelimit_message": "{0} exceeded"}, "cannot be formatted"),
    ],
)
def test_bad_settings_fail_at_setup(options: dict[str, t.Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ApiErrors(Flask("bad"), **options)


# -- custom messages and on_breach still win ------------------------------------------------


@pytest.mark.parametrize("error_message", ["Slow down, please", lambda: "Computed: slow down"])
def test_error_message_wins(error_message: str | t.Callable[[], str]) -> None:
    app = Flask("msg")
    ApiErrors(app, format="error")
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")

    @app.get("/")
    @limiter.limit("1/minute", error_message=error_message)
    def index() -> str:
        return "ok"

    body = _exhaust(app.test_client(), 1, "/").get_json()
    expected = error_message() if callable(error_message) else error_message
    assert body["message"] == expected
    assert body["details"]["limit"] == 1


@pytest.mark.parametrize("headers_enabled", [True, False])
@pytest.mark.parametrize("where", ["limit", "limiter"])
def test_on_breach_response_wins_and_gets_headers(headers_enabled: bool, where: str) -> None:
    def on_breach(limit: RequestLimit) -> Response:
        return Response('{"custom": true}', status=429, mimetype="application/json")

    app = Flask("breach")
    ApiErrors(app, format="error")
    limiter = Limiter(
        lambda: "client",
        app=app,
        storage_uri="memory://",
        headers_enabled=headers_enabled,
        on_breach=on_breach if where == "limiter" else None,
    )

    @app.get("/")
    @limiter.limit("1/minute", on_breach=on_breach if where == "limit" else None)
    def index() -> str:
        return "ok"

    response = _exhaust(app.test_client(), 1, "/")
    assert response.get_json() == {"custom": True}
    for name in RATE_HEADERS:
        assert len(response.headers.getlist(name)) == 1, name
    assert int(response.headers["Retry-After"]) >= 1


def test_on_breach_with_another_status_is_untouched() -> None:
    app = Flask("breach503")
    ApiErrors(app)
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")

    @app.get("/")
    @limiter.limit("1/minute", on_breach=lambda limit: Response("busy", status=503))
    def index() -> str:
        return "ok"

    client = app.test_client()
    client.get("/")
    response = client.get("/")
    assert (response.status_code, response.get_data(as_text=True)) == (503, "busy")
    assert "X-RateLimit-Limit" not in response.headers


def test_on_breach_callback_without_response_gets_our_body() -> None:
    seen: list[int] = []
    app = Flask("notify")
    ApiErrors(app, format="error")
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")

    @app.get("/")
    @limiter.limit("1/minute", on_breach=lambda limit: seen.append(limit.limit.amount))
    def index() -> str:
        return "ok"

    body = _exhaust(app.test_client(), 1, "/").get_json()
    assert seen == [1]
    assert body["error"] == "rate_limit_exceeded"


def test_an_on_breach_retry_after_that_is_longer_is_kept() -> None:
    def on_breach(limit: RequestLimit) -> Response:
        return Response("{}", status=429, headers={"Retry-After": "3600"})

    app, _ = _make(limiter_options={"on_breach": on_breach})
    response = _exhaust(app.test_client(), 2)
    assert response.headers.getlist("Retry-After") == ["3600"]


# -- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("headers_enabled", [True, False])
@pytest.mark.parametrize("retry_after_value", [None, "http-date", "delta-seconds"])
@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window", "sliding-window-counter"])
@pytest.mark.parametrize("fmt", ["error", "detail"])
def test_headers_once_and_in_agreement_with_the_body(
    headers_enabled: bool, retry_after_value: str | None, strategy: str, fmt: str
) -> None:
    config: dict[str, t.Any] = {"RATELIMIT_HEADERS_ENABLED": headers_enabled}
    if retry_after_value is not None:
        config["RATELIMIT_HEADER_RETRY_AFTER_VALUE"] = retry_after_value
    app, _ = _make(
        "3/minute",
        config=config,
        limiter_options={"strategy": strategy},
        format=fmt,
        ratelimit_details=DETAILS_ALL,
    )
    response = _exhaust(app.test_client(), 3)
    now = time.time()
    values = {}
    for name in RATE_HEADERS:
        found = response.headers.getlist(name)
        assert len(found) == 1, (name, found)
        assert found[0].isdigit(), (name, found)
        values[name] = int(found[0])
    details = _details(response.get_json())
    assert details["limit"] == values["X-RateLimit-Limit"] == 3
    assert details["remaining"] == values["X-RateLimit-Remaining"] == 0
    assert details["reset"] == values["X-RateLimit-Reset"]
    assert details["retry_after"] == values["Retry-After"] >= 1
    reset_at = datetime.fromtimestamp(values["X-RateLimit-Reset"], timezone.utc)
    assert details["reset_at"] == reset_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # Never earlier than the reset, and not much later either.
    assert now + values["Retry-After"] >= values["X-RateLimit-Reset"] - 0.01
    assert values["Retry-After"] <= 62


def test_short_windows_never_say_retry_after_zero() -> None:
    # flask-limiter computes int(reset - now), often 0 on a 1-second window.
    app, _ = _make("1/second", config={"RATELIMIT_HEADERS_ENABLED": True})
    client = app.test_client()
    seen = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        response = client.get("/limited")
        if response.status_code == 429:
            now = time.time()
            retry_after = int(response.headers["Retry-After"])
            assert retry_after >= 1
            assert now + retry_after >= int(response.headers["X-RateLimit-Reset"]) - 0.01
            seen.append(retry_after)
        time.sleep(0.01)
    assert seen


def test_retry_after_floor_is_configurable() -> None:
    app, _ = _make("1/second", ratelimit_min_retry_after=30)
    response = _exhaust(app.test_client(), 1)
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["details"]["retry_after"] == 30


def test_header_names_follow_flask_limiter_config() -> None:
    app, _ = _make(
        config={
            "RATELIMIT_HEADERS_ENABLED": True,
            "RATELIMIT_HEADER_LIMIT": "X-Quota",
            "RATELIMIT_HEADER_REMAINING": "X-Quota-Left",
            "RATELIMIT_HEADER_RESET": "X-Quota-Reset",
        }
    )
    response = _exhaust(app.test_client(), 2)
    for name in ("X-Quota", "X-Quota-Left", "X-Quota-Reset", "Retry-After"):
        assert len(response.headers.getlist(name)) == 1
    assert "X-RateLimit-Limit" not in response.headers


def test_draft_headers() -> None:
    app, _ = _make("4 per 30 seconds", ratelimit_draft_headers=True)
    response = _exhaust(app.test_client(), 4)
    retry_after = response.headers["Retry-After"]
    pk = base64.b64encode(partition_key("client")).decode()
    policy = f'"limited-4-per-30-seconds";q=4;w=30;pk=:{pk}:'
    assert response.headers.getlist("RateLimit-Policy") == [policy]
    assert response.headers.getlist("RateLimit") == [
        f'"limited-4-per-30-seconds";r=0;t={retry_after};pk=:{pk}:'
    ]
    # The documented contract stays as it was.
    for name in RATE_HEADERS:
        assert len(response.headers.getlist(name)) == 1


def test_successful_responses_keep_flask_limiter_headers() -> None:
    app, _ = _make("5/minute", config={"RATELIMIT_HEADERS_ENABLED": True})
    response = app.test_client().get("/limited")
    assert response.status_code == 200
    assert response.headers.getlist("X-RateLimit-Remaining") == ["4"]


def test_other_429s_get_no_rate_limit_headers() -> None:
    app, _ = _make(config={"RATELIMIT_HEADERS_ENABLED": False})

    @app.get("/busy")
    def busy() -> Response:
        return Response("{}", status=429)

    response = app.test_client().get("/busy")
    assert response.status_code == 429
    assert "X-RateLimit-Limit" not in response.headers


@pytest.mark.parametrize("headers_enabled", [False, True])
def test_where_apierrors_is_off_flask_limiters_429_keeps_its_headers(
    headers_enabled: bool,
) -> None:
    # The HTML 429 of a page where ApiErrors is off got X-RateLimit-* and
    # Retry-After that flask-limiter alone does not send, and a Retry-After
    # of flask-limiter's own was rewritten.
    outcomes = []
    for with_apierrors in (False, True):
        app = Flask("pages")
        app.config["RATELIMIT_HEADERS_ENABLED"] = headers_enabled
        limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
        if with_apierrors:
            ApiErrors(app, enabled=False)

        @app.post("/login")
        @limiter.limit("1/minute")
        def login() -> str:
            return "<p>welcome</p>"

        client = app.test_client()
        assert client.post("/login").status_code == 200
        refused = client.post("/login")
        assert (refused.status_code, refused.mimetype) == (429, "text/html")
        outcomes.append(
            {k: v for k, v in refused.headers.items() if k in RATE_HEADERS or k == "Retry-After"}
        )
    without, with_ = outcomes
    assert with_.keys() == without.keys()
    assert bool(with_) is headers_enabled
    assert abs(int(with_.get("Retry-After", 0)) - int(without.get("Retry-After", 0))) <= 1


def test_limits_as_context_manager_and_default_limits() -> None:
    app = Flask("cm")
    ApiErrors(app, format="error")
    limiter = Limiter(
        lambda: "client", app=app, storage_uri="memory://", default_limits=["2/minute"]
    )

    @app.get("/default")
    def default() -> str:
        return "ok"

    @app.get("/block")
    @limiter.exempt
    def block() -> str:
        with limiter.limit("1/minute"):
            return "ok"

    client = app.test_client()
    body = _exhaust(client, 2, "/default").get_json()
    assert body["details"]["limit"] == 2
    response = _exhaust(client, 1, "/block")
    assert response.get_json()["details"]["limit"] == 1
    assert len(response.headers.getlist("Retry-After")) == 1


def test_the_reported_limit_when_several_are_breached() -> None:
    app, _ = _make(
        "1/minute;1/hour",
        config={"RATELIMIT_FAIL_ON_FIRST_BREACH": False, "RATELIMIT_HEADERS_ENABLED": True},
        format="error",
        ratelimit_details=DETAILS_ALL,
    )
    response = _exhaust(app.test_client(), 1)
    details = _details(response.get_json())
    # The reported limit is the exception's; the wait is the longest.
    assert details["window"] == "1 minute"
    assert details["reset"] - time.time() <= 61
    assert 3599 <= details["retry_after"] <= 3601
    assert response.headers.getlist("Retry-After") == [str(details["retry_after"])]
    assert response.headers.getlist("X-RateLimit-Reset") == [str(details["reset"])]


@pytest.mark.parametrize(
    ("multiples", "granularity", "window", "period"),
    [
        (1, "minute", "1 minute", "minute"),
        (1, "second", "1 second", "second"),
        (10, "second", "10 seconds", "10 seconds"),
        (2, "hour", "2 hours", "2 hours"),
    ],
)
def test_rate_limit_info_wording(
    multiples: int, granularity: str, window: str, period: str
) -> None:
    info = RateLimitInfo(10, 0, 1701425100, 45, multiples, granularity)
    assert (info.window, info.period) == (window, period)
    assert info.reset_at == "2023-12-01T10:05:00Z"


# -- Retry-After against a storage that rounds, on a clock that moves -------------------------


class Clock:
    """A clock that moves only when told (stands in for the ``time`` module)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


class RedisLikeStorage(Storage):
    """A fixed-window storage that reads a window's end as limits' Redis
    storage does: ``TTL``, which Redis rounds to the nearest second, plus the
    client's clock when the answer arrived. ``latency`` passes while Redis is
    asked, ``after`` once it answered (other reads, a busy process)."""

    STORAGE_SCHEME = None

    def __init__(self, clock: Clock, *, latency: float = 0.0, after: float = 0.0) -> None:
        super().__init__()
        self.clock = clock
        self.latency = latency
        self.after = after
        self.counts: dict[str, int] = {}
        self.ends: dict[str, float] = {}

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ConnectionError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if self.ends.get(key, 0.0) <= self.clock.now:
            self.counts[key] = 0
            self.ends[key] = self.clock.now + expiry
        self.counts[key] += amount
        return self.counts[key]

    def get(self, key: str) -> int:
        return self.counts.get(key, 0)

    def get_expiry(self, key: str) -> float:
        self.clock.now += self.latency / 2
        ttl = math.floor(self.ends[key] - self.clock.now + 0.5)  # Redis: (pttl + 500) / 1000
        self.clock.now += self.latency / 2
        end = max(ttl, 0) + self.clock.now  # limits: ttl + time.time()
        self.clock.now += self.after
        return end

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        return None

    def clear(self, key: str) -> None:
        self.counts.pop(key, None)


def _on_redis_like_storage(
    monkeypatch: pytest.MonkeyPatch, start: float, **timing: float
) -> tuple[FlaskClient, Clock]:
    clock = Clock(start)
    monkeypatch.setattr(convert, "time", clock)
    app, limiter = _make("2/minute", format="error", ratelimit_details=DETAILS_ALL)
    app.test_client().get("/health-check-of-setup")  # guards are installed by now
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    guarded.inner = RedisLikeStorage(clock, **timing)
    return app.test_client(), clock


def test_retry_after_is_computed_after_the_storage_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A 100/minute limit on Redis across gunicorn workers once answered
    # retry_after 62: "now" was read before flask-limiter read the window
    # from Redis, and that read crossed a second boundary.
    client, clock = _on_redis_like_storage(monkeypatch, 1000.80, latency=0.15)
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 200]
    clock.now = 1000.90  # the window ends at 1060.80
    response = client.get("/limited")
    assert response.status_code == 429
    details = response.get_json()["details"]
    # Asked at 1000.975, Redis said TTL 60 (59.825 rounded); the answer came
    # at 1001.05: flask-limiter's reset is int(1001.05 + 60 + 1).
    assert details["reset"] == 1062
    assert details["retry_after"] == int(response.headers["Retry-After"]) == 61  # not 62
    assert clock.now + details["retry_after"] >= details["reset"]


def test_retry_after_covers_the_ttl_rounding(monkeypatch: pytest.MonkeyPatch) -> None:
    client, clock = _on_redis_like_storage(monkeypatch, 1000.40, after=0.06)
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 200]
    clock.now = 1000.95  # the window ends at 1060.40
    response = client.get("/limited")
    details = response.get_json()["details"]
    # TTL 59 (59.45 rounded down): the reported end is 1059.95 and the reset
    # 1060, before the window really ends. Read at 1001.01, a wait up to the
    # reset (59) would send the client back 0.39s too early.
    assert details["reset"] == 1060
    assert details["retry_after"] == 60
    assert clock.now + details["retry_after"] >= 1060.40


def test_a_breach_rendered_outside_a_request() -> None:
    # ApiErrors.problem_for works in an app context without a request (a
    # background job): the numbers then come from the limit alone.
    app = Flask("outside")
    ext = ApiErrors(app, format="error", ratelimit_details=DETAILS_ALL)
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
    caught: list[RateLimitExceeded] = []

    @app.get("/")
    @limiter.exempt
    def index() -> str:
        try:
            with limiter.limit("1/minute", scope="job"):
                return "ok"
        except RateLimitExceeded as e:
            caught.append(e)
            return "caught"

    client = app.test_client()
    assert [client.get("/").get_data(as_text=True) for _ in range(2)] == ["ok", "caught"]
    with app.app_context():
        problem = ext.problem_for(caught[0])
    assert (problem.status, problem.code) == (429, "rate_limit_exceeded")
    assert problem.details["limit"] == 1
    assert problem.details["remaining"] == 0
    assert 60 <= problem.details["retry_after"] <= 61


# -- storage outages --------------------------------------------------------------------------


class FlakyStorage(MemoryStorage):
    """Memory storage that fails like an unreachable server while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.calls = 0

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ConnectionError

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("connection refused")

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        self._maybe_fail()
        return super().incr(key, expiry, amount)

    def get(self, key: str) -> int:
        self._maybe_fail()
        return super().get(key)

    def get_expiry(self, key: str) -> float:
        self._maybe_fail()
        return super().get_expiry(key)


def _flaky_app(**options: t.Any) -> tuple[Flask, Limiter, FlakyStorage]:
    app, limiter = _make("2/minute", format="error", limits_retry_interval=0.05, **options)
    app.test_client().get("/health-check-of-setup")  # guards are installed by now
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    flaky = FlakyStorage()
    guarded.inner = flaky
    return app, limiter, flaky


@pytest.mark.parametrize("apierrors_first", [True, False])
def test_storage_is_guarded_whatever_the_setup_order(apierrors_first: bool) -> None:
    app, limiter = _make(apierrors_first=apierrors_first)
    assert app.test_client().get("/limited").status_code == 200
    assert isinstance(limiter.limiter.storage, GuardedStorage)
    assert isinstance(limiter.limiter.storage.inner, MemoryStorage)


@pytest.mark.parametrize("apierrors_first", [True, False])
def test_storage_guard_hook_works_once(
    apierrors_first: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    real = guard.guard_limiters
    monkeypatch.setattr(guard, "guard_limiters", lambda state: calls.append(real(state)))
    app, limiter = _make(apierrors_first=apierrors_first)
    assert len(calls) == 1  # at setup
    client = app.test_client()
    assert client.get("/limited").status_code == 200
    assert len(calls) == 2  # at the first request, for a Limiter set up later
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    assert client.get("/limited").status_code == 200
    assert client.get("/limited").status_code == 429
    assert len(calls) == 2  # later requests return at once
    assert limiter.limiter.storage is guarded


def test_guarded_storage_lets_other_errors_through() -> None:
    app, limiter = _make()
    app.test_client().get("/health-check-of-setup")
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)

    class Broken(MemoryStorage):
        def incr(self, key: str, expiry: float, amount: int = 1) -> int:
            raise KeyError(key)

    guarded.inner = Broken()
    with pytest.raises(KeyError):
        guarded.incr("k", 60)


def test_guard_can_be_turned_off() -> None:
    app, limiter = _make(ratelimit_guard_storage=False)
    app.test_client().get("/limited")
    assert not isinstance(limiter.limiter.storage, GuardedStorage)


def test_fail_open_lets_requests_through_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, _, flaky = _flaky_app()
    client = app.test_client()
    flaky.down = True
    with caplog.at_level(logging.INFO, logger="flask_apierrors.limits"):
        statuses = [client.get("/limited").status_code for _ in range(20)]
        assert statuses == [200] * 20
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "ConnectionError" in warnings[0].getMessage()
        # Skipped while down: far fewer storage calls than requests.
        assert flaky.calls < 10
        flaky.down = False
        time.sleep(0.06)
        statuses = [client.get("/limited").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert any("answers again" in r.getMessage() for r in infos)
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


def test_fail_closed_answers_json_503_then_recovers() -> None:
    app, _, flaky = _flaky_app(limits_fail_open=False)
    client = app.test_client()
    flaky.down = True
    for _ in range(3):
        response = client.get("/limited")
        assert response.status_code == 503
        body = response.get_json()
        assert body["error"] == "service_unavailable"
        assert body["message"] == "Service temporarily unavailable"
        assert body["details"]["retry_after"] == int(response.headers["Retry-After"]) >= 1
        assert "refused" not in response.get_data(as_text=True)
    flaky.down = False
    time.sleep(0.06)
    assert [client.get("/limited").status_code for _ in range(3)] == [200, 200, 429]


def test_fail_closed_only_refuses_before_the_response() -> None:
    # A deduction made after the view (deduct_when) cannot turn a finished
    # response into a 503: it fails open.
    app = Flask("deduct")
    ApiErrors(app, format="error", limits_fail_open=False, limits_retry_interval=0.05)
    limiter = Limiter(lambda: "client", app=app, storage_uri="memory://")
    flaky = FlakyStorage()

    @app.get("/")
    @limiter.limit("5/minute", deduct_when=lambda response: True)
    def index() -> str:
        flaky.down = True
        return "done"

    client = app.test_client()
    client.get("/favicon.ico")
    guarded = limiter.limiter.storage
    assert isinstance(guarded, GuardedStorage)
    guarded.inner = flaky
    response = client.get("/")
    assert (response.status_code, response.get_data(as_text=True)) == (200, "done")


# -- per-request data lives with the request -------------------------------------------------


def test_an_app_context_kept_across_requests_shares_nothing() -> None:
    # A suite that pushes app.app_context() in its setup keeps one ``g`` for
    # every request it makes.
    app, limiter = _make("1/minute", format="error", ratelimit_details=DETAILS_ALL)

    @app.get("/five")
    @limiter.limit("5/minute")
    def five() -> str:
        return "ok"

    client = app.test_client()
    with app.app_context():
        one = _exhaust(client, 1)
        assert _details(one.get_json())["limit"] == 1
        response = _exhaust(client, 5, "/five")
        assert _details(response.get_json())["limit"] == 5
        assert response.headers.getlist("X-RateLimit-Limit") == ["5"]
        assert not [name for name in vars(g) if "apierrors" in name]


def test_fail_closed_refuses_every_request_of_a_kept_app_context() -> None:
    app, _, flaky = _flaky_app(limits_fail_open=False)
    client = app.test_client()
    flaky.down = True
    with app.app_context():
        assert [client.get("/limited").status_code for _ in range(3)] == [503] * 3
