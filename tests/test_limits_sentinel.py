"""Rate and concurrency limits on a real Redis Sentinel setup (a master, a
replica, a sentinel) across four gunicorn workers, and what clients see when
the master is killed and the sentinel fails over to the replica
(tests.apps.multinode_limits_app)."""

from __future__ import annotations

import collections
import typing as t

import pytest
import requests

from tests.support.load import Load
from tests.support.load import burst
from tests.support.load import get_json
from tests.support.load import unique_key
from tests.support.load import wait_for
from tests.support.multinode import multinode_web
from tests.support.multinode import stats as app_stats
from tests.support.redis_sentinel import RedisSentinelServers
from tests.support.servers import GunicornServer
from tests.support.servers import requires_redis

pytestmark = [pytest.mark.slow, requires_redis]

SOCKET_TIMEOUT = 0.25
#: What a request may take beyond the socket timeout on a busy 2-core box.
MARGIN = 0.75


@pytest.fixture(scope="module")
def servers() -> t.Iterator[tuple[RedisSentinelServers, GunicornServer]]:
    with (
        RedisSentinelServers() as sentinel,
        multinode_web(sentinel.url, SOCKET_TIMEOUT) as web,
    ):
        web.wait_for_workers(4)
        yield sentinel, web


def test_rate_limit_is_exact_across_workers(
    servers: tuple[RedisSentinelServers, GunicornServer],
) -> None:
    _, web = servers
    client = unique_key("rate")
    results = burst(f"{web.url}/limited", client, threads=16, each=25)
    assert collections.Counter(r.status for r in results) == {200: 100, 429: 300}
    assert len({r.body["pid"] for r in results if r.status == 200}) > 1
    for result in (r for r in results if r.status == 429):
        assert result.body["error"] == "rate_limit_exceeded"
        assert result.headers["X-RateLimit-Limit"] == "100"
        assert 1 <= result.body["details"]["retry_after"] <= 61


def test_concurrency_limit_holds_across_workers(
    servers: tuple[RedisSentinelServers, GunicornServer],
) -> None:
    _, web = servers
    client = unique_key("slow")
    results = burst(f"{web.url}/slow", client, threads=16, each=10)
    counts = collections.Counter(r.status for r in results)
    assert set(counts) == {200, 429}
    assert all(r.body["details"]["current_concurrent"] == 6 for r in results if r.status == 429)
    stats = app_stats(web, client)
    assert stats["max_in_flight"] == 5, stats
    assert stats["in_flight"] == 0
    wait_for(lambda: app_stats(web, client)["slots"] == 0, timeout=3)
    print(f"\nconcurrency 5 through Sentinel, 16 client threads: {dict(counts)}, {stats}")


# -- the master killed: failover ----------------------------------------------------------


def _exact_again(web: GunicornServer) -> bool:
    client = unique_key("small")
    with requests.Session() as session:
        statuses = [get_json(session, f"{web.url}/small", client).status for _ in range(6)]
    return statuses == [200, 200, 200, 429, 429, 429]


def _all_recovered(web: GunicornServer) -> bool:
    """Every outage WARNING a worker logged has its recovery INFO line."""
    log = web.log_text()
    warnings = log.count("WARNING flask_apierrors.limits")
    return warnings >= 1 and log.count("INFO flask_apierrors.limits") == warnings


@pytest.mark.parametrize("fail_open", [True, False], ids=["fail-open", "fail-closed"])
def test_a_killed_master_fails_over(fail_open: bool) -> None:
    marks: dict[str, float] = {}
    with RedisSentinelServers() as sentinel:
        env = {"LIMITS_FAIL_OPEN": "1" if fail_open else "0"}
        # Sync workers, 2s worker timeout: a request stuck on Redis would
        # show up as WORKER TIMEOUT.
        with multinode_web(
            sentinel.url, SOCKET_TIMEOUT, worker_class="sync", timeout="2", **env
        ) as web:
            web.wait_for_workers(4)
            with Load(f"{web.url}/both", unique_key("kill"), threads=4, max_seconds=40) as load:
                wait_for(lambda: len(load.results) >= 20, timeout=10)
                old = sentinel.master.port
                load.phase = "killed"
                sentinel.master.kill()
                _, marks["failover"] = sentinel.wait_for_failover(old)
                # Each worker's guard probes the storage every 0.5s: they
                # see the new master one after the other.
                load.phase = "failed over"
                marks["exact again"] = wait_for(lambda: _exact_again(web), timeout=15)
                marks["recovered"] = marks["exact again"] + wait_for(
                    lambda: _all_recovered(web), timeout=10
                )
                load.phase = "recovered"
                wait_for(lambda: len(load.in_phase("recovered")) >= 20, timeout=10)
            log = web.log_text()
    assert load.failures == []
    outage = load.in_phase("killed")
    assert outage
    if fail_open:
        assert {r.status for r in [*outage, *load.in_phase("failed over")]} == {200}
    else:
        assert {r.status for r in outage} <= {200, 503}
        refused = [r for r in outage if r.status == 503]
        assert len(refused) >= len(outage) * 0.8
        assert all(r.body["error"] == "service_unavailable" for r in refused)
    worst = load.slowest("killed", "failed over")
    assert worst <= SOCKET_TIMEOUT + MARGIN
    assert {r.status for r in load.in_phase("recovered")} == {200}
    assert "WORKER TIMEOUT" not in log
    assert "Traceback" not in log
    warnings = log.count("WARNING flask_apierrors.limits")
    recoveries = log.count("INFO flask_apierrors.limits")
    assert "Limit storage Redis Sentinel mymaster via 127.0.0.1:" in log
    assert 1 <= warnings <= 8, log
    assert recoveries == warnings, log
    print(
        f"\n{'fail-open' if fail_open else 'fail-closed'}: statuses per phase {load.counts()};"
        f" slowest answer while the master was down {worst:.3f}s (socket timeout"
        f" {SOCKET_TIMEOUT}s); failover {marks['failover']:.2f}s after the kill, limits"
        f" exact again {marks['exact again']:.2f}s after it, every worker recovered"
        f" {marks['recovered']:.2f}s after it; {warnings} warnings, {recoveries} recoveries"
    )
