"""A throw-away Redis Sentinel setup on 127.0.0.1: a master, a replica and
one or more sentinels (``redis-server sentinel.conf --sentinel``: the
redis-server binary runs in sentinel mode, no other package needed), each on
a free port, in its own process group, stopped by PID.

Failover is quick: a master unreachable for ``down_after_ms`` is down, and
one sentinel (quorum 1) promotes the replica.
"""

from __future__ import annotations

import time
import typing as t

import redis

from .ports import LOOPBACK
from .redis_server import RedisServer
from .redis_server import skip_without_redis
from .redis_server import wait_for_ping
from .server_process import Managed
from .server_process import ServerProcess

if t.TYPE_CHECKING:
    pass

SERVICE: t.Final = "mymaster"


class SentinelServer(ServerProcess):
    """One sentinel watching ``master_port`` as :data:`SERVICE`."""

    _kind = "sentinel"

    def __init__(
        self,
        master_port: int,
        *,
        executable: str | None = None,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 5000,
    ) -> None:
        self.master_port = master_port
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.executable = executable or skip_without_redis()
        super().__init__(port=None, startup_timeout=10.0, stop_timeout=5.0)

    def _argv(self) -> list[str]:
        # Sentinel rewrites its config file (the master it found, the
        # replicas): one in its own temp dir, written once.
        config = self.tmpdir / "sentinel.conf"
        if not config.exists():
            config.write_text(
                "\n".join(
                    [
                        f"port {self._port}",
                        f"bind {LOOPBACK}",
                        "daemonize no",
                        'logfile ""',
                        f"dir {self.tmpdir}",
                        f"sentinel monitor {SERVICE} {LOOPBACK} {self.master_port} 1",
                        f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}",
                        f"sentinel failover-timeout {SERVICE} {self.failover_timeout_ms}",
                        f"sentinel parallel-syncs {SERVICE} 1",
                        "",
                    ]
                )
            )
        return [self.executable, str(config), "--sentinel"]

    def _wait_ready(self) -> str | None:
        return wait_for_ping(self)


class RedisSentinelServers(Managed):
    """A master, ``replicas`` replicas of it and ``sentinels`` sentinels.

    :param down_after_ms: How long the master may be unreachable before the
        sentinels fail over.
    """

    def __init__(self, *, replicas: int = 1, sentinels: int = 1, down_after_ms: int = 1000) -> None:
        self.master = RedisServer()
        self.replicas = [
            RedisServer(extra_args=["--replicaof", LOOPBACK, str(self.master.port)])
            for _ in range(replicas)
        ]
        self.sentinels = [
            SentinelServer(self.master.port, down_after_ms=down_after_ms) for _ in range(sentinels)
        ]

    @property
    def url(self) -> str:
        """``redis+sentinel://127.0.0.1:S1[,...]/mymaster``."""
        hosts = ",".join(f"{LOOPBACK}:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}"

    @property
    def servers(self) -> list[RedisServer]:
        """The master and the replicas, in the order they were made."""
        return [self.master, *self.replicas]

    def master_port(self) -> int | None:
        """The master's port as the first live sentinel reports it."""
        for sentinel in self.sentinels:
            if not sentinel.is_running():
                continue
            with redis.Redis(host=LOOPBACK, port=sentinel.port, socket_timeout=2) as client:
                address = client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", SERVICE)
            if address:
                return int(address[1])
        return None

    def server_on(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    def wait_for_replicas(self, timeout: float = 15.0) -> float:
        """Seconds until the master counts every replica as online and each
        sentinel knows them all (so it can fail over)."""
        started = time.monotonic()
        while True:
            with redis.Redis(host=LOOPBACK, port=self.master.port, socket_timeout=2) as client:
                online = int(client.info("replication").get("connected_slaves", 0))
            known = []
            for sentinel in self.sentinels:
                with redis.Redis(host=LOOPBACK, port=sentinel.port, socket_timeout=2) as client:
                    known.append(len(client.execute_command("SENTINEL REPLICAS", SERVICE)))
            if online == len(self.replicas) and all(k == len(self.replicas) for k in known):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"replicas online {online}, known to sentinels {known}")
            time.sleep(0.05)

    def wait_for_failover(self, old_port: int, timeout: float = 20.0) -> tuple[int, float]:
        """Wait until the sentinels name a master other than ``old_port``
        that answers as a master; return its port and the seconds waited."""
        started = time.monotonic()
        while True:
            port = self.master_port()
            if port is not None and port != old_port:
                with redis.Redis(host=LOOPBACK, port=port, socket_timeout=2) as client:
                    if client.info("replication").get("role") == "master":
                        return port, time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"no failover from port {old_port} after {timeout}s")
            time.sleep(0.05)

    def start(self) -> RedisSentinelServers:
        for server in (*self.servers, *self.sentinels):
            server.start()
        if self.replicas:
            self.wait_for_replicas()
        return self

    def close(self) -> None:
        """Stop every process by its PID and delete the temp dirs."""
        for server in (*self.sentinels, *self.replicas, self.master):
            server.close()
