"""A tiny WSGI app for testing :class:`tests.support.servers.GunicornServer` itself.

``GET /`` answers 200 JSON with the worker's PID; ``GET /sleep?seconds=X`` sleeps first (to
provoke a gunicorn WORKER TIMEOUT); anything else is a 404.
"""

from __future__ import annotations

import json
import os
import time
import typing as t
import urllib.parse

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment


def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    path = environ.get("PATH_INFO", "/")
    status = "200 OK"
    payload: dict[str, object] = {"hello": "world", "pid": os.getpid()}
    if path == "/sleep":
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        seconds = float(query.get("seconds", ["1"])[0])
        time.sleep(seconds)
        payload["slept"] = seconds
    elif path != "/":
        status = "404 NOT FOUND"
        payload = {"message": f"no route {path}"}
    body = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]
