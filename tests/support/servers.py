"""Real servers for tests: Redis and gunicorn, each on a free 127.0.0.1 port.

Each server runs in its own process group (``start_new_session``) and is stopped by its PID
(SIGTERM, then SIGKILL to the whole group after a bound). A watchdog process kills every
group still registered if the test process dies, so nothing outlives the test run.

.. code-block:: python

    with (
        RedisServer() as redis_server,
        GunicornServer(
            "tests.support.hello_app:app",
            workers=2,
            env={"REDIS_URL": redis_server.url},
        ) as web,
    ):
        httpx.get(web.url + "/")
"""

from __future__ import annotations

from .gunicorn_server import REPO_ROOT
from .gunicorn_server import GunicornServer
from .gunicorn_server import gunicorn_command
from .ports import LOOPBACK
from .ports import ServerStartError
from .ports import free_port
from .ports import wait_for_http
from .ports import wait_for_port
from .processes import child_pids
from .processes import pid_alive
from .processes import pids_in_group
from .processes import stop_process
from .redis_server import REDIS_SKIP_REASON
from .redis_server import RedisServer
from .redis_server import redis_ping
from .redis_server import redis_server_executable
from .redis_server import requires_redis
from .redis_server import skip_without_redis

__all__ = [
    "LOOPBACK",
    "REDIS_SKIP_REASON",
    "REPO_ROOT",
    "GunicornServer",
    "RedisServer",
    "ServerStartError",
    "child_pids",
    "free_port",
    "gunicorn_command",
    "pid_alive",
    "pids_in_group",
    "stop_process",
    "redis_ping",
    "redis_server_executable",
    "requires_redis",
    "skip_without_redis",
    "wait_for_http",
    "wait_for_port",
]
