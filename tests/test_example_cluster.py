"""The example app under gunicorn on a real three-master Redis Cluster
(``EXAMPLE_APP_RATELIMIT_STORAGE_URI=redis+cluster://...``, which it also
uses for the concurrency limiter): the chat API's rate limit and its
concurrency limit hold across the workers."""

from __future__ import annotations

import collections
import socket
import typing as t

import pytest
import requests

from tests.support.load import wait_for
from tests.support.redis_cluster import RedisClusterServers
from tests.support.servers import GunicornServer
from tests.support.servers import requires_redis

pytestmark = [pytest.mark.slow, requires_redis]

ADMIN_KEY: t.Final = "mel_" + "Cl4sTer9" * 4
RATE_LIMIT: t.Final = 10
CONCURRENT_LIMIT: t.Final = 2


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory,
) -> t.Iterator[tuple[RedisClusterServers, GunicornServer]]:
    instance = tmp_path_factory.mktemp("example-cluster")
    with RedisClusterServers() as cluster:
        env = {
            "EXAMPLE_APP_ADMIN_KEY": ADMIN_KEY,
            "EXAMPLE_APP_INSTANCE_PATH": str(instance),
            "EXAMPLE_APP_RATELIMIT_STORAGE_URI": cluster.url,
            "EXAMPLE_APP_CHAT_RATE_LIMIT": f"{RATE_LIMIT} per minute",
            "EXAMPLE_APP_CONCURRENT_LIMIT": str(CONCURRENT_LIMIT),
        }
        with GunicornServer(
            "example_app.wsgi:app",
            workers=2,
            worker_class="gthread",
            threads=4,
            timeout=20,
            env=env,
            health_path="/health",
        ) as web:
            web.wait_for_workers(2)
            yield cluster, web


def _new_key(web: GunicornServer) -> tuple[str, str]:
    with requests.post(
        web.url + "/api-keys", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, json={}, timeout=10
    ) as response:
        assert response.status_code == 201, response.text
        body = response.json()
        return body["api_key"], body["key_id"]


def test_rate_limit_across_workers(servers: tuple[RedisClusterServers, GunicornServer]) -> None:
    cluster, web = servers
    key, key_id = _new_key(web)
    statuses: list[int] = []
    bodies = []
    with requests.Session() as session:
        for _ in range(RATE_LIMIT + 3):
            # A new connection each time: the requests spread over the workers.
            response = session.get(
                f"{web.url}/api-keys/{key_id}",
                headers={"Authorization": f"Bearer {key}", "Connection": "close"},
                timeout=10,
            )
            assert response.headers["Content-Type"].startswith("application/json")
            statuses.append(response.status_code)
            bodies.append(response.json())
    assert collections.Counter(statuses) == {200: RATE_LIMIT, 429: 3}
    assert statuses[:RATE_LIMIT] == [200] * RATE_LIMIT
    refused = bodies[-1]
    assert refused["error"] == "rate_limit_exceeded"
    assert refused["details"]["limit"] == RATE_LIMIT
    assert 1 <= refused["details"]["retry_after"] <= 61
    # The counters are in the cluster: flask-limiter's and the concurrency
    # limiter's keys are on its masters.
    held = [k for node in cluster.nodes for k in cluster.keys(node)]
    assert any(k.startswith("LIMITS:") for k in held), held


def _hold_upload(web: GunicornServer, key: str) -> socket.socket:
    """Start an upload that never finishes: the view holds its concurrency
    slot while it waits for the body."""
    sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
    head = (
        "POST /files HTTP/1.1\r\nHost: t\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        "Content-Length: 100000\r\n\r\n--xyz\r\n"
    )
    sock.sendall(head.encode("ascii"))
    return sock


def _chat(web: GunicornServer, key: str) -> requests.Response:
    body = {"model": "Melanie-3", "messages": [{"role": "user", "content": "hello"}]}
    return requests.post(
        f"{web.url}/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json=body,
        timeout=10,
    )


def _slots(cluster: RedisClusterServers) -> int:
    total = 0
    for node in cluster.nodes:
        with cluster.client(node) as client:
            total += sum(int(client.zcard(k)) for k in cluster.keys(node, "apierrors:*"))
    return total


def test_concurrency_limit_across_workers(
    servers: tuple[RedisClusterServers, GunicornServer],
) -> None:
    cluster, web = servers
    key, _ = _new_key(web)
    uploads = [_hold_upload(web, key) for _ in range(CONCURRENT_LIMIT)]
    try:
        wait_for(lambda: _slots(cluster) == CONCURRENT_LIMIT, timeout=5)
        with _chat(web, key) as refused:
            assert refused.status_code == 429
            body = refused.json()
        assert body["error"] == "concurrent_limit_exceeded"
        assert body["details"]["concurrent_limit"] == CONCURRENT_LIMIT
        assert body["details"]["current_concurrent"] == CONCURRENT_LIMIT + 1
        assert refused.headers["Retry-After"] == "10"
    finally:
        for sock in uploads:
            sock.close()
    # The workers notice the closed connections and give the slots back.
    waited = wait_for(lambda: _slots(cluster) == 0, timeout=10)
    with _chat(web, key) as response:
        assert response.status_code == 200, response.text
    print(f"\nslots in the cluster given back {waited:.2f}s after the uploads were dropped")


def test_no_warning_about_unbounded_waits(
    servers: tuple[RedisClusterServers, GunicornServer],
) -> None:
    _, web = servers
    log = web.log_text()
    assert "can keep a request waiting" not in log
    assert "counts in this process's memory" not in log
    assert "WORKER TIMEOUT" not in log
