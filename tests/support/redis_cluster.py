"""A throw-away Redis Cluster on 127.0.0.1: three (or more) ``redis-server``
masters with ``--cluster-enabled yes``, joined by ``redis-cli --cluster
create``, no replicas.

Each node is a :class:`~tests.support.redis_server.RedisServer` (own port,
own temp dir holding its ``nodes.conf``, own process group, stopped by PID).
A killed node restarted on its port (:meth:`RedisServer.restart`) reads its
``nodes.conf`` again and takes its slots back, with no data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import typing as t

import redis

from .ports import LOOPBACK
from .ports import free_port
from .redis_server import RedisServer
from .redis_server import skip_without_redis
from .server_process import Managed

if t.TYPE_CHECKING:
    pass


def redis_cli_executable() -> str:
    """``redis-cli`` (PATH, else next to redis-server); skips the test without it."""
    server = skip_without_redis()
    found = shutil.which("redis-cli") or os.path.join(os.path.dirname(server), "redis-cli")
    if not os.access(found, os.X_OK):
        import pytest

        pytest.skip("redis-cli is not installed (apt-get install redis-server installs it)")
    return found


class RedisClusterServers(Managed):
    """``masters`` cluster-enabled redis-servers joined into one cluster.

    :param masters: How many masters (at least 3, as ``redis-cli`` requires).
    :param node_timeout_ms: ``cluster-node-timeout``: how long a node may be
        unreachable before the others mark it failed (and, as every slot
        must be covered, the whole cluster answers ``CLUSTERDOWN``).
    """

    def __init__(self, *, masters: int = 3, node_timeout_ms: int = 1000) -> None:
        self.cli = redis_cli_executable()
        self.node_timeout_ms = node_timeout_ms
        self.nodes = [RedisServer(extra_args=self._node_args()) for _ in range(masters)]

    def _node_args(self) -> list[str]:
        options = {
            "--cluster-enabled": "yes",
            "--cluster-config-file": "nodes.conf",
            "--cluster-node-timeout": str(self.node_timeout_ms),
            # The bus port defaults to the port + 10000, out of range for
            # most free ports: a free port of its own (kept on restarts).
            "--cluster-port": str(free_port()),
        }
        return [item for pair in options.items() for item in pair]

    @property
    def url(self) -> str:
        """``redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...``."""
        return "redis+cluster://" + ",".join(f"{LOOPBACK}:{n.port}" for n in self.nodes)

    def client(self, node: RedisServer) -> redis.Redis:
        """A plain client of one node (close it after use)."""
        return redis.Redis.from_url(f"redis://{LOOPBACK}:{node.port}", socket_timeout=2)

    def info(self, node: RedisServer) -> dict[str, str]:
        """``CLUSTER INFO`` of one node."""
        with self.client(node) as client:
            text = client.execute_command("CLUSTER INFO")
        if isinstance(text, bytes):
            text = text.decode()
        if isinstance(text, dict):
            return {str(k): str(v) for k, v in text.items()}
        return dict(line.split(":", 1) for line in str(text).split() if ":" in line)

    def wait_for_state(
        self, state: str, timeout: float = 15.0, nodes: t.Sequence[RedisServer] | None = None
    ) -> float:
        """Seconds until every running node (or ``nodes``) reports
        ``cluster_state:<state>`` and agrees on the slots."""
        started = time.monotonic()
        nodes = nodes if nodes is not None else [n for n in self.nodes if n.is_running()]
        last: dict[str, str] = {}
        while True:
            try:
                infos = [self.info(node) for node in nodes]
                if all(i.get("cluster_state") == state for i in infos) and (
                    state != "ok" or all(i.get("cluster_slots_ok") == "16384" for i in infos)
                ):
                    return time.monotonic() - started
                last = infos[-1]
            except redis.RedisError as exc:
                last = {"error": repr(exc)}
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"cluster not {state} after {timeout}s: {last}")
            time.sleep(0.05)

    def node_of(self, key: str) -> RedisServer:
        """The master that holds ``key``'s hash slot."""
        with self.client(self.nodes[0]) as client:
            slot = int(client.execute_command("CLUSTER KEYSLOT", key))
            ranges = client.execute_command("CLUSTER SLOTS")
        for start, end, master, *_ in ranges:
            if int(start) <= slot <= int(end):
                port = int(master[1])
                return next(n for n in self.nodes if n.port == port)
        raise LookupError(f"no node holds slot {slot}")

    def keys(self, node: RedisServer, pattern: str = "*") -> list[str]:
        """The keys one node holds."""
        with self.client(node) as client:
            return sorted(k.decode() for k in client.scan_iter(match=pattern, count=1000))

    def start(self) -> RedisClusterServers:
        for node in self.nodes:
            node.start()
        addresses = [f"{LOOPBACK}:{node.port}" for node in self.nodes]
        result = subprocess.run(
            [self.cli, "--cluster", "create", *addresses, "--cluster-replicas", "0"]
            + ["--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"redis-cli --cluster create failed:\n{result.stdout}{result.stderr}"
            )
        self.wait_for_state("ok")
        return self

    def close(self) -> None:
        """Stop every node by its PID and delete their temp dirs."""
        for node in self.nodes:
            node.close()
