"""The ``RateLimit-Policy`` and ``RateLimit`` fields of
draft-ietf-httpapi-ratelimit-headers-11 (``ratelimit_draft_headers``), and
the draft's ``quota-exceeded`` problem type."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Blueprint
from flask import Flask
from flask import request
from werkzeug.test import TestResponse

from flask_apierrors import ApiErrors
from flask_apierrors import ConcurrencyLimiter
from flask_apierrors import quota
from tests.test_structured_fields import SF_LIST
from tests.test_structured_fields import parse_list

flask_limiter = pytest.importorskip("flask_limiter")
from flask_limiter import Limiter  # noqa: E402
from limits.storage import MemoryStorage  # noqa: E402

KEY: t.Final = "mel_vTdtm1TRCMh97Qd5wDnObegj7sTGsFE8"
PK: t.Final = quota.partition_key(KEY)


def fields_of(response: TestResponse) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """Both fields, each parsed as RFC 8941 says: policy name -> parameters."""
    found = []
    for name in (quota.POLICY_FIELD, quota.LIMIT_FIELD):
        (value,) = response.headers.getlist(name)
        assert SF_LIST.fullmatch(value), value
        found.append(dict(parse_list(value)))
    return found[0], found[1]


def make_app(**options: t.Any) -> tuple[Flask, Limiter, ConcurrencyLimiter]:
    app = Flask("fields")
    app.config["TESTING"] = True
    options.setdefault("ratelimit_draft_headers", True)
    ApiErrors(app, **options)
    limiter = Limiter(lambda: KEY, app=app, storage_uri="memory://")
    concurrency = ConcurrencyLimiter(app, key_func=lambda: request.headers.get("X-API-Key"))

    @app.get("/models")
    @limiter.limit("100/minute")
    @limiter.limit("5 per 10 seconds")
    def models() -> dict[str, t.Any]:
        return {"models": []}

    @app.post("/research")
    @limiter.shared_limit("10/hour", scope="research")
    @concurrency.limit(2, scope="research")
    def research() -> dict[str, t.Any]:
        return {"report": "..."}

    @app.get("/open")
    def open_() -> dict[str, t.Any]:
        return {}

    return app, limiter, concurrency


def test_every_limited_response_carries_both_fields() -> None:
    app, _, _ = make_app()
    response = app.test_client().get("/models")
    assert response.status_code == 200
    policies, limits = fields_of(response)
    assert policies == {
        "models-5-per-10-seconds": {"q": 5, "w": 10, "pk": PK},
        "models-100-per-minute": {"q": 100, "w": 60, "pk": PK},
    }
    assert limits["models-5-per-10-seconds"]["r"] == 4
    assert limits["models-100-per-minute"]["r"] == 99
    assert 0 < limits["models-5-per-10-seconds"]["t"] <= 10
    assert 0 < limits["models-100-per-minute"]["t"] <= 60


def test_partition_keys_are_short_hashes_never_the_key() -> None:
    app, _, _ = make_app()
    response = app.test_client().get("/models")
    text = str(response.headers)
    assert KEY not in text and KEY[4:] not in text
    assert len(PK) == quota.PARTITION_KEY_BYTES
    assert quota.partition_key("other") != PK


def test_routes_without_limits_and_apps_without_the_setting_get_none() -> None:
    app, _, _ = make_app()
    assert quota.POLICY_FIELD not in app.test_client().get("/open").headers
    off, _, _ = make_app(ratelimit_draft_headers=False)
    response = off.test_client().get("/models")
    assert quota.POLICY_FIELD not in response.headers
    assert quota.LIMIT_FIELD not in response.headers


def test_concurrency_limits_are_policies_of_concurrent_requests() -> None:
    app, _, _ = make_app()
    client = app.test_client()
    key = {"X-API-Key": KEY}
    first = client.post("/research", headers=key)
    policies, limits = fields_of(first)
    assert policies["research-concurrent"] == {"q": 2, "qu": "concurrent-requests", "pk": PK}
    assert policies["research-10-per-hour"] == {"q": 10, "w": 3600, "pk": PK}
    assert limits["research-concurrent"] == {"r": 1, "pk": PK}
    second = client.post("/research", headers=key)
    assert fields_of(second)[1]["research-concurrent"] == {"r": 0, "pk": PK}
    refused = client.post("/research", headers=key)
    assert refused.status_code == 429
    assert fields_of(refused)[1]["research-concurrent"] == {"r": 0, "pk": PK}
    for response in (first, second, refused):
        response.close()


def test_a_concurrency_429_is_quota_exceeded_in_the_problem_format() -> None:
    app, _, _ = make_app(format="problem")
    client = app.test_client()
    key = {"X-API-Key": KEY}
    held = [client.post("/research", headers=key) for _ in range(2)]
    body = client.post("/research", headers=key).get_json()
    assert body["type"] == quota.QUOTA_EXCEEDED
    assert body["code"] == "concurrent_limit_exceeded"
    assert body["violated-policies"] == ["research-concurrent"]
    for response in held:
        response.close()


def test_a_rate_limit_429_is_quota_exceeded_in_the_problem_format() -> None:
    app, _, _ = make_app(format="problem")
    client = app.test_client()
    for _ in range(5):
        assert client.get("/models").status_code == 200
    response = client.get("/models")
    assert response.status_code == 429
    body = response.get_json()
    assert body["type"] == quota.QUOTA_EXCEEDED
    assert body["violated-policies"] == ["models-5-per-10-seconds"]
    # The breached policy comes back when Retry-After says.
    _, limits = fields_of(response)
    assert limits["models-5-per-10-seconds"] == {
        "r": 0,
        "t": int(response.headers["Retry-After"]),
        "pk": PK,
    }
    # flask-limiter stops at the first breach: the longer limit went unread.
    assert list(limits) == ["models-5-per-10-seconds"]
    # The documented headers, exactly once each.
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert len(response.headers.getlist(name)) == 1


@pytest.mark.parametrize("fmt", ["error", "error_code", "detail"])
def test_other_formats_keep_their_429_body(fmt: str) -> None:
    app, _, _ = make_app(format=fmt)
    client = app.test_client()
    for _ in range(5):
        client.get("/models")
    response = client.get("/models", headers={"Accept": "application/json"})
    text = response.get_data(as_text=True)
    assert "violated-policies" not in text and quota.QUOTA_EXCEEDED not in text
    assert quota.POLICY_FIELD in response.headers


def test_without_the_setting_a_problem_429_keeps_its_type() -> None:
    app, _, _ = make_app(format="problem", ratelimit_draft_headers=False)
    client = app.test_client()
    for _ in range(5):
        client.get("/models")
    body = client.get("/models").get_json()
    assert body["type"] == "about:blank" and "violated-policies" not in body


def test_default_and_application_limits_are_policies_too() -> None:
    app = Flask("defaults")
    ApiErrors(app, ratelimit_draft_headers=True)
    Limiter(
        lambda: KEY,
        app=app,
        storage_uri="memory://",
        default_limits=["3/minute"],
        application_limits=["1000/day"],
    )

    @app.get("/a")
    def a() -> dict[str, t.Any]:
        return {}

    policies, _ = fields_of(app.test_client().get("/a"))
    assert list(policies) == ["a-3-per-minute", "global-1000-per-day"]


def test_a_blueprint_override_switches_the_fields() -> None:
    app = Flask("override")
    errors = ApiErrors(app)
    limiter = Limiter(lambda: KEY, app=app, storage_uri="memory://", default_limits=["3/minute"])
    bp = Blueprint("v2", __name__, url_prefix="/v2")

    @bp.get("/a")
    def a() -> dict[str, t.Any]:
        return {}

    @app.get("/a")
    def b() -> dict[str, t.Any]:
        return {}

    app.register_blueprint(bp)
    errors.override(bp, ratelimit_draft_headers=True)
    client = app.test_client()
    assert quota.POLICY_FIELD in client.get("/v2/a").headers
    assert quota.POLICY_FIELD not in client.get("/a").headers
    assert limiter.enabled


class FailingWindows(MemoryStorage):
    """Counts, but cannot say when a window ends."""

    def get_expiry(self, key: str) -> float:
        raise ConnectionError("storage down")


def test_a_storage_that_fails_leaves_its_policies_out(caplog: pytest.LogCaptureFixture) -> None:
    app = Flask("failing")
    ApiErrors(app, ratelimit_draft_headers=True, ratelimit_guard_storage=False)
    limiter = Limiter(lambda: KEY, app=app, storage_uri="memory://", default_limits=["3/minute"])
    limiter.limiter.storage = FailingWindows()
    concurrency = ConcurrencyLimiter(app, key_func=lambda: KEY)

    @app.get("/a")
    @concurrency.limit(1, scope="a")
    def a() -> dict[str, t.Any]:
        return {}

    with caplog.at_level(logging.WARNING, logger="flask_apierrors"):
        response = app.test_client().get("/a")
    assert response.status_code == 200
    policies, _ = fields_of(response)
    assert list(policies) == ["a-concurrent"]
    assert "RateLimit fields without flask-limiter's policies" in caplog.text


def test_policies_and_limits_of_quotas() -> None:
    quotas = [
        quota.Quota("burst", 100, 50, reset=30, window=60),
        quota.Quota('odd "name"', 5, 0, unit=quota.CONCURRENT_REQUESTS),
        quota.Quota("burst", 1, 1),
    ]
    assert quota.policy_field(quotas) == (
        '"burst";q=100;w=60, "odd \\"name\\"";q=5;qu="concurrent-requests"'
    )
    assert quota.limit_field(quotas) == '"burst";r=50;t=30, "odd \\"name\\"";r=0'
    assert quota.quota_exceeded(["a", "b", "a"]) == {
        "problem_type": quota.QUOTA_EXCEEDED,
        "problem_members": {"violated-policies": ["a", "b"]},
    }
    assert quota.quota_exceeded([]) == {}
    assert quota.policy_name("caf\u00e9\n") == "caf__"
    assert quota.policy_name("") == "default"
