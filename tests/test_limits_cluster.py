"""Rate and concurrency limits on a real three-master Redis Cluster across
four gunicorn workers, and what clients see when a master is killed
(tests.apps.multinode_limits_app)."""

from __future__ import annotations

import collections
import typing as t

import pytest
import requests

from tests.support.load import Load
from tests.support.load import Result
from tests.support.load import burst
from tests.support.load import get_json
from tests.support.load import unique_key
from tests.support.load import wait_for
from tests.support.multinode import multinode_web
from tests.support.multinode import stats as app_stats
from tests.support.redis_cluster import RedisClusterServers
from tests.support.servers import GunicornServer
from tests.support.servers import requires_redis

pytestmark = [pytest.mark.slow, requires_redis]

SOCKET_TIMEOUT = 0.25
#: What a request may take beyond the socket timeout on a busy 2-core box
#: (redis-py also sleeps 0.25s before it reads the layout again after a
#: CLUSTERDOWN answer).
MARGIN = 0.75


@pytest.fixture(scope="module")
def servers() -> t.Iterator[tuple[RedisClusterServers, GunicornServer]]:
    with (
        RedisClusterServers() as cluster,
        multinode_web(cluster.url, SOCKET_TIMEOUT) as web,
    ):
        web.wait_for_workers(4)
        yield cluster, web


def test_rate_limits_are_exact_across_workers_and_masters(
    servers: tuple[RedisClusterServers, GunicornServer],
) -> None:
    cluster, web = servers
    clients = [unique_key("rate") for _ in range(6)]
    results: dict[str, list[Result]] = {}
    for client in clients:
        results[client] = burst(f"{web.url}/limited", client, threads=8, each=15)
    for client in clients:
        counts = collections.Counter(r.status for r in results[client])
        assert counts == {200: 100, 429: 20}, (client, counts)
        assert len({r.body["pid"] for r in results[client] if r.status == 200}) > 1
        refused = [r for r in results[client] if r.status == 429]
        assert all(r.body["error"] == "rate_limit_exceeded" for r in refused)
        assert all(r.headers["X-RateLimit-Remaining"] == "0" for r in refused)
    # The counters are spread over the masters (flask-limiter's keys hash
    # whole): the limits held whatever node counted them.
    holders = {
        node.port: len([k for k in cluster.keys(node, "LIMITS:*") if "/limited/" in k])
        for node in cluster.nodes
    }
    assert sum(holders.values()) >= len(clients)
    assert sum(1 for n in holders.values() if n) >= 2, holders
    print(
        f"\n6 clients x 120 requests over 4 workers: 100 + 20 each; counters per master {holders}"
    )


def test_concurrency_limit_holds_across_workers(
    servers: tuple[RedisClusterServers, GunicornServer],
) -> None:
    cluster, web = servers
    client = unique_key("slow")
    results = burst(f"{web.url}/slow", client, threads=16, each=10)
    counts = collections.Counter(r.status for r in results)
    assert set(counts) == {200, 429}
    for result in (r for r in results if r.status == 429):
        assert result.body["error"] == "concurrent_limit_exceeded"
        assert result.body["details"]["concurrent_limit"] == 5
        assert result.body["details"]["current_concurrent"] == 6
    stats = app_stats(web, client)
    assert stats["max_in_flight"] == 5, stats  # reached, never exceeded
    assert stats["in_flight"] == 0
    wait_for(lambda: app_stats(web, client)["slots"] == 0, timeout=3)
    print(f"\nconcurrency 5 on the cluster, 16 client threads: {dict(counts)}, {stats}")


# -- a master killed ----------------------------------------------------------------------


def _exact_again(web: GunicornServer) -> bool:
    client = unique_key("small")
    with requests.Session() as session:
        statuses = [get_json(session, f"{web.url}/small", client).status for _ in range(6)]
    return statuses == [200, 200, 200, 429, 429, 429]


def _kill_run(fail_open: bool) -> tuple[Load, str, dict[str, float]]:
    """Load ``/both`` while the master holding the client's rate-limit
    counter is killed, the cluster goes down, and the master comes back."""
    marks: dict[str, float] = {}
    with RedisClusterServers() as cluster:
        env = {"LIMITS_FAIL_OPEN": "1" if fail_open else "0"}
        # Sync workers, 2s worker timeout: a request stuck on Redis would
        # show up as WORKER TIMEOUT.
        with multinode_web(
            cluster.url, SOCKET_TIMEOUT, worker_class="sync", timeout="2", **env
        ) as web:
            web.wait_for_workers(4)
            client = unique_key("kill")
            with Load(f"{web.url}/both", client, threads=4, max_seconds=40) as load:
                wait_for(lambda: len(load.results) >= 20, timeout=10)
                counters = [
                    node for node in cluster.nodes if cluster.keys(node, f"LIMITS:*{client}*")
                ]
                assert len(counters) == 1
                victim = counters[0]
                load.phase = "killed"
                victim.kill()
                survivors = [n for n in cluster.nodes if n is not victim]
                marks["cluster down"] = cluster.wait_for_state("fail", nodes=survivors)
                load.phase = "cluster down"
                wait_for(lambda: len(load.in_phase("cluster down")) >= 20, timeout=10)
                load.phase = "restarted"
                victim.restart()
                marks["cluster ok"] = cluster.wait_for_state("ok")
                marks["exact again"] = wait_for(lambda: _exact_again(web), timeout=15)
                wait_for(lambda: _all_recovered(web), timeout=10)
                load.phase = "recovered"
                wait_for(lambda: len(load.in_phase("recovered")) >= 20, timeout=10)
            log = web.log_text()
    return load, log, marks


def _all_recovered(web: GunicornServer) -> bool:
    """Every outage WARNING a worker logged has its recovery INFO line."""
    log = web.log_text()
    warnings = log.count("WARNING flask_apierrors.limits")
    return warnings >= 1 and log.count("INFO flask_apierrors.limits") == warnings


def _check_log(log: str) -> tuple[int, int]:
    assert "WORKER TIMEOUT" not in log
    assert "Traceback" not in log
    warnings = log.count("WARNING flask_apierrors.limits")
    recoveries = log.count("INFO flask_apierrors.limits")
    # Both limiters name the cluster alike: they share one guard per worker.
    assert "Limit storage Redis Cluster 127.0.0.1:" in log
    assert 1 <= warnings <= 8, log
    assert recoveries == warnings
    return warnings, recoveries


@pytest.mark.parametrize("fail_open", [True, False], ids=["fail-open", "fail-closed"])
def test_a_killed_master(fail_open: bool) -> None:
    load, log, marks = _kill_run(fail_open)
    assert load.failures == []
    outage = [*load.in_phase("killed"), *load.in_phase("cluster down")]
    assert outage
    if fail_open:
        assert {r.status for r in outage} == {200}
    else:
        refused = [r for r in outage if r.status == 503]
        assert {r.status for r in outage} <= {200, 503}
        assert len(refused) >= len(outage) * 0.8
        for result in refused:
            assert result.body["error"] == "service_unavailable"
            assert result.headers["Retry-After"] == str(result.body["details"]["retry_after"])
            assert "127.0.0.1" not in str(result.body)
    worst = load.slowest("killed", "cluster down")
    assert worst <= SOCKET_TIMEOUT + MARGIN
    assert {r.status for r in load.in_phase("recovered")} == {200}
    warnings, recoveries = _check_log(log)
    print(
        f"\n{'fail-open' if fail_open else 'fail-closed'}: statuses per phase {load.counts()};"
        f" slowest answer during the outage {worst:.3f}s (socket timeout {SOCKET_TIMEOUT}s);"
        f" cluster down {marks['cluster down']:.2f}s after the kill, ok"
        f" {marks['cluster ok']:.2f}s after the restart, limits exact again"
        f" {marks['exact again']:.2f}s later; {warnings} warnings, {recoveries} recoveries"
    )
