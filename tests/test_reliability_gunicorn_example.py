"""The example app through a real gunicorn under faults: its limit storage
(Redis) dying, coming back empty and hanging, an upstream that resets, and
clients hanging up mid-stream: every answer is JSON with a valid correlation
id, no concurrency slot is left behind and no worker dies."""

from __future__ import annotations

import json
import threading
import time
import typing as t
from pathlib import Path

import pytest
import requests

from flask_apierrors.correlation import VALID_ID

from .support.servers import GunicornServer
from .support.servers import RedisServer
from .support.upstream import UpstreamServer

pytestmark = pytest.mark.slow

# -- the example app under faults: Redis, upstream resets, disconnects --------------------

EXAMPLE_ADMIN_KEY: t.Final = "mel_" + "Qr7St6Uv" * 4
CHAT: t.Final = {"model": "Melanie-3", "messages": [{"role": "user", "content": "hello there"}]}
#: What the chat API may answer while its limit storage fails and recovers.
CHAOS_STATUSES: t.Final = frozenset({200, 400, 429, 503})


def _example_env(instance: Path, **extra: str) -> dict[str, str]:
    return {
        "EXAMPLE_APP_ADMIN_KEY": EXAMPLE_ADMIN_KEY,
        "EXAMPLE_APP_INSTANCE_PATH": str(instance),
        "EXAMPLE_APP_CHAT_RATE_LIMIT": "100000 per minute",
        "EXAMPLE_APP_CONCURRENT_LIMIT": "3",
        **extra,
    }


def _new_key(base_url: str) -> str:
    with requests.post(
        base_url + "/api-keys",
        headers={"Authorization": f"Bearer {EXAMPLE_ADMIN_KEY}"},
        json={},
        timeout=10,
    ) as response:
        assert response.status_code == 201, response.text
        key: str = response.json()["api_key"]
        return key


class Outcome(t.NamedTuple):
    kind: str
    status: int
    json_error: bool
    cid_ok: bool


def _chat_once(base_url: str, key: str, kind: str) -> Outcome:
    """One request of ``kind``: ``chat``, ``stream`` (the client hangs up
    after the first bytes) or ``badjson``."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps({**CHAT, "stream": kind == "stream"}).encode()
    if kind == "badjson":
        body = b'{"model": "Melanie-3", "messages": ['
    with requests.post(
        base_url + "/chat/completions", data=body, headers=headers, timeout=15, stream=True
    ) as response:
        cid = response.headers.get("X-Request-ID", "")
        if kind == "stream" and response.status_code == 200:
            response.raw.read(16)  # then hang up mid-stream
            return Outcome(kind, 200, False, bool(VALID_ID.fullmatch(cid)))
        content = response.content
    json_error = False
    if response.status_code >= 400:
        data = json.loads(content)
        json_error = data.get("correlation_id") == cid
    return Outcome(kind, response.status_code, json_error, bool(VALID_ID.fullmatch(cid)))


def _load(base_url: str, key: str, seconds: float, threads: int = 6) -> list[Outcome]:
    outcomes: list[Outcome] = []
    failures: list[BaseException] = []
    deadline = time.monotonic() + seconds
    kinds = ["chat", "stream", "badjson", "stream"]

    def worker(index: int) -> None:
        n = index
        while time.monotonic() < deadline:
            try:
                outcomes.append(_chat_once(base_url, key, kinds[n % len(kinds)]))
            except Exception as exc:  # collected: the test fails on any of them
                failures.append(exc)
            n += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(seconds + 60)
    assert not failures, failures[:3]
    return outcomes


def _check_outcomes(outcomes: list[Outcome], statuses: frozenset[int]) -> None:
    assert outcomes
    assert {o.status for o in outcomes} <= statuses, sorted({o.status for o in outcomes})
    assert all(o.cid_ok for o in outcomes)
    assert all(o.json_error for o in outcomes if o.status >= 400)


def _check_server_healthy(web: GunicornServer) -> None:
    with requests.get(web.url + "/health", timeout=10) as response:
        assert response.status_code == 200
    log = web.log_text()
    assert "WORKER TIMEOUT" not in log
    assert "was sent SIGKILL" not in log


def test_example_app_survives_redis_chaos_and_disconnects(tmp_path: Path) -> None:
    redis_client = pytest.importorskip("redis")
    with RedisServer() as redis_server:
        env = _example_env(tmp_path, EXAMPLE_APP_RATELIMIT_STORAGE_URI=redis_server.url)
        with GunicornServer(
            "example_app.wsgi:app",
            workers=2,
            worker_class="gthread",
            threads=4,
            timeout=10,
            env=env,
            health_path="/health",
        ) as web:
            key = _new_key(web.url)

            def chaos() -> None:
                time.sleep(1.0)
                redis_server.kill()  # Redis dies mid-load ...
                time.sleep(1.0)
                redis_server.restart()  # ... comes back empty ...
                time.sleep(1.0)
                redis_server.pause()  # ... hangs (accepts, never answers) ...
                time.sleep(1.0)
                redis_server.resume()

            chaos_thread = threading.Thread(target=chaos)
            chaos_thread.start()
            try:
                outcomes = _load(web.url, key, seconds=5.0)
            finally:
                chaos_thread.join(30)
                redis_server.resume()
            _check_outcomes(outcomes, CHAOS_STATUSES)
            assert {o.kind for o in outcomes if o.status == 200} >= {"chat", "stream"}

            # Recovered: a fresh key's requests, hang-ups included, leave no
            # slot behind in Redis once they are done.
            client = redis_client.Redis.from_url(redis_server.url)
            try:
                before = set(client.scan_iter("apierrors:concurrency*"))
                fresh = _new_key(web.url)
                calm = _load(web.url, fresh, seconds=2.0, threads=3)
                # A hang-up's slot is given back when the server closes the
                # response, which can be just after the next request arrives.
                _check_outcomes(calm, frozenset({200, 400, 429}))
                assert sum(o.status == 200 for o in calm) > len(calm) // 2
                time.sleep(0.5)
                leftover = {
                    k: client.zcard(k)
                    for k in set(client.scan_iter("apierrors:concurrency*")) - before
                }
            finally:
                client.close()
            assert not any(leftover.values()), leftover
            _check_server_healthy(web)


def test_example_app_survives_an_upstream_that_resets(tmp_path: Path) -> None:
    with UpstreamServer() as upstream:
        # Every call of the model service ends in a reset after the headers
        # and part of the body (the app appends its own path to this URL).
        env = _example_env(
            tmp_path,
            EXAMPLE_APP_MODEL_SERVICE_URL=upstream.url + "/reset-mid?framing=length&to=",
            EXAMPLE_APP_UPSTREAM_TIMEOUT="3",
        )
        with GunicornServer(
            "example_app.wsgi:app", workers=2, timeout=10, env=env, health_path="/health"
        ) as web:
            key = _new_key(web.url)
            outcomes = [_chat_once(web.url, key, kind) for kind in ["chat", "stream"] * 6]
            _check_outcomes(outcomes, frozenset({502}))
            # Twelve requests through a limit of three: every slot came back.
            assert len(outcomes) == 12
            assert len(upstream.requests) >= 12
            _check_server_healthy(web)
