"""A cold start against a dependency that hangs: gunicorn starts the app
while its Redis accepts connections and never answers
(:class:`~tests.support.silent_server.SilentServer`). Every route must
answer JSON within the socket timeout plus a margin, and no worker may time
out.

* the example app, its rate limits and its concurrency limit on that
  "Redis" (its maintenance state is a file in its instance folder);
* tests.apps.multinode_limits_app with rate limits, concurrency limits and
  the maintenance state on it.
"""

from __future__ import annotations

import re
import time
import typing as t
from pathlib import Path

import pytest
import requests

from tests.support.servers import GunicornServer
from tests.support.silent_server import SilentServer

pytestmark = pytest.mark.slow

ADMIN_KEY: t.Final = "mel_" + "C0ldSt4r" * 4
#: The example app's Redis timeout (example_app.limits.REDIS_SOCKET_TIMEOUT).
EXAMPLE_TIMEOUT: t.Final = 0.5
#: The test app's (LIMITS_SOCKET_TIMEOUT).
APP_TIMEOUT: t.Final = 0.25
#: What an answer may take beyond its waits on a busy 2-core box.
MARGIN: t.Final = 1.0
#: Sync workers and a 2s worker timeout: a request stuck on the dependency
#: would show up as WORKER TIMEOUT.
WORKER_TIMEOUT: t.Final = 2
MAINTENANCE_ON: t.Final = ("PUT", "/system/maintenance")


class Answer(t.NamedTuple):
    method: str
    path: str
    status: int
    json: bool
    elapsed: float
    #: The connection was dropped before any answer.
    dropped: bool = False


def _example_routes(instance: Path) -> list[tuple[str, str]]:
    """(method, path) of every route of the example app, path arguments
    filled in, but for switching maintenance on."""
    from example_app import create_app

    app = create_app({"INSTANCE_PATH": str(instance), "ADMIN_KEY": ADMIN_KEY})
    routes = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^<>:]+:)?[^<>]+>", "x", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return sorted(r for r in routes if r != MAINTENANCE_ON)


def _answer(session: requests.Session, base: str, method: str, path: str) -> Answer:
    headers = {
        "Authorization": f"Bearer {ADMIN_KEY}",
        "X-API-Key": ADMIN_KEY,
        "X-Client": "cold",
        # A new connection each time: the requests spread over the workers.
        "Connection": "close",
    }
    body: dict[str, t.Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    started = time.monotonic()
    try:
        response = session.request(method, base + path, headers=headers, json=body, timeout=10)
    except requests.ConnectionError:  # no answer at all: _check shows gunicorn's log
        return Answer(method, path, 0, False, time.monotonic() - started, True)
    elapsed = time.monotonic() - started
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    if is_json:
        response.json()
    return Answer(method, path, response.status_code, is_json, elapsed)


def _sweep(base: str, routes: list[tuple[str, str]], rounds: int) -> list[Answer]:
    with requests.Session() as session:
        return [_answer(session, base, m, p) for _ in range(rounds) for m, p in routes]


def _report(name: str, answers: list[Answer], limit: float) -> str:
    slowest = max(answers, key=lambda a: a.elapsed)
    waited = [a for a in answers if a.elapsed > 0.2]
    rest = max((a.elapsed for a in answers if a.elapsed <= 0.2), default=0.0)
    return (
        f"{name}: {len(answers)} answers, all JSON; slowest {slowest.elapsed:.3f}s"
        f" ({slowest.method} {slowest.path} {slowest.status}), {len(waited)} over 0.2s"
        f" ({', '.join(f'{a.elapsed:.3f}' for a in waited[:6])}), the others at most"
        f" {rest:.3f}s; limit {limit:.2f}s"
    )


def _check(answers: list[Answer], limit: float, log: str) -> None:
    assert [a for a in answers if not a.json] == [], log
    assert [a for a in answers if a.dropped] == [], log
    assert [a for a in answers if a.elapsed > limit] == [], log
    assert "WORKER TIMEOUT" not in log
    assert "was sent SIGKILL" not in log


def test_example_app_starts_against_a_hung_redis(tmp_path: Path) -> None:
    routes = _example_routes(tmp_path / "routes")
    with SilentServer() as silent:
        env = {
            "EXAMPLE_APP_ADMIN_KEY": ADMIN_KEY,
            "EXAMPLE_APP_INSTANCE_PATH": str(tmp_path / "instance"),
            "EXAMPLE_APP_RATELIMIT_STORAGE_URI": silent.url,
        }
        started = time.monotonic()
        with GunicornServer(
            "example_app.wsgi:app",
            workers=2,
            timeout=WORKER_TIMEOUT,
            env=env,
            health_path="/health",
        ) as web:
            web.wait_for_workers(2)
            up = time.monotonic() - started
            answers = _sweep(web.url, routes, rounds=2)
            # Then maintenance, which each worker reads within a second.
            answers += _sweep(web.url, [MAINTENANCE_ON], rounds=1)
            time.sleep(1.1)
            during = _sweep(web.url, [("GET", "/files/x")], rounds=4)
            log = web.log_text()
        assert silent.accepted >= 1  # the storage was tried
    limit = EXAMPLE_TIMEOUT + MARGIN
    _check([*answers, *during], limit, log)
    assert {a.status for a in answers if a.path == "/health"} == {200}
    assert {a.status for a in during} == {503}
    assert "Limit storage Redis 127.0.0.1" in log  # the outage WARNING
    print(f"\nup in {up:.2f}s; {_report('example app', [*answers, *during], limit)}")


def test_limits_and_maintenance_state_on_a_hung_redis() -> None:
    routes = [("GET", p) for p in ("/health", "/limited", "/small", "/both")]
    with SilentServer() as silent:
        env = {
            "LIMITS_REDIS_URL": silent.url,
            "LIMITS_SOCKET_TIMEOUT": str(APP_TIMEOUT),
            "LIMITS_MAINTENANCE_REDIS": "1",
        }
        with GunicornServer(
            "tests.apps.multinode_limits_app:create_app()",
            workers=2,
            timeout=WORKER_TIMEOUT,
            env=env,
            health_path="/health",
        ) as web:
            web.wait_for_workers(2)
            answers = _sweep(web.url, routes, rounds=6)
            log = web.log_text()
        assert silent.accepted >= 1
    # A request may wait for both dependencies: the maintenance state, then
    # the limits storage (each with its own outage handling).
    limit = 2 * APP_TIMEOUT + MARGIN
    _check(answers, limit, log)
    assert {a.status for a in answers} == {200}  # fail-open, no maintenance known
    assert "Maintenance state unreadable in Redis" in log
    assert "Limit storage Redis 127.0.0.1" in log
    print(f"\n{_report('limits + maintenance app', answers, limit)}")
