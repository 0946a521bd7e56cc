"""flask_apierrors.client where neither Flask nor Werkzeug is installed: an
API's consumers need only requests or httpx."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing as t
from pathlib import Path

from flask_apierrors import client

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter in which importing flask or werkzeug fails.
SCRIPT = """
import importlib.abc
import sys


class NoFlask(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("flask", "werkzeug"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoFlask())

import httpx
import requests

from flask_apierrors import client
from flask_apierrors.retry import Retry

response = requests.Response()
response.status_code = 404
response._content = b'{"error": "not_found", "message": "Job not found", "details": {"id": "j1"}}'
response.headers["X-Request-ID"] = "req_1"
error = client.error_from_response(response)
assert type(error) is client.NotFoundError, error
assert (error.code, error.details, error.correlation_id) == ("not_found", {"id": "j1"}, "req_1")

body = {"detail": {"code": "SERVICE_UNAVAILABLE", "message": "Down for maintenance"}}
unavailable = client.parse_error(httpx.Response(503, json=body, headers={"Retry-After": "7"}))
assert type(unavailable) is client.ServiceUnavailableError and unavailable.retry_after == 7.0
assert client.retry_call(lambda: httpx.Response(200), client.RetryPolicy()).status_code == 200
assert Retry(attempts=2).policy.max_retries == 1
assert not {name.partition(".")[0] for name in sys.modules} & {"flask", "werkzeug"}
print("ok")
"""


def test_the_client_works_without_flask_and_werkzeug() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr


#: Modules of the package that import neither Flask nor Werkzeug (the
#: import-linter contract in pyproject.toml holds the client to the same).
PURE_MODULES: t.Final = frozenset({"statuses", "timeutil"})


def test_the_client_imports_nothing_of_flask() -> None:
    modules = sorted(Path(client.__file__).parent.glob("*.py"))
    assert {path.name for path in modules} >= {"__init__.py", "errors.py", "parse.py"}
    for path in modules:
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level > 1:
                # The rest of flask_apierrors imports Flask, but for the pure
                # modules the client shares with the server.
                if node.module not in PURE_MODULES:
                    imported.add("..")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & {"flask", "werkzeug", "flask_apierrors", ".."}, path.name
