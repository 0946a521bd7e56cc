"""The multi-node limits test app (tests/apps/multinode_limits_app.py) under
gunicorn, pointed at a Redis URI (a cluster, a Sentinel, a silent server),
and its ``/stats`` view."""

from __future__ import annotations

import requests

from .gunicorn_server import GunicornServer

APP = "tests.apps.multinode_limits_app:create_app()"


def multinode_web(url: str, socket_timeout: float, **env: str) -> GunicornServer:
    """Four workers of the app on ``url``; ``worker_class`` and ``timeout``
    may be given among ``env``, the rest is the app's environment."""
    return GunicornServer(
        APP,
        workers=4,
        worker_class=env.pop("worker_class", "gthread"),
        threads=4,
        timeout=int(env.pop("timeout", "30")),
        env={"LIMITS_REDIS_URL": url, "LIMITS_SOCKET_TIMEOUT": str(socket_timeout), **env},
        health_path="/health",
        # Import the app once, before the workers fork; redis-py's pools
        # make new connections in each worker.
        extra_args=("--preload",),
    )


def stats(web: GunicornServer, client: str) -> dict[str, int]:
    """The app's counters for ``client`` (requests in flight, slots ...)."""
    with requests.Session() as session:
        response = session.get(f"{web.url}/stats", params={"client": client}, timeout=10)
        found: dict[str, int] = response.json()
        return found
