"""The docs' code examples: every Python block of the pages listed runs, top
to bottom in one namespace, in the repository and in a directory of a
reader's own, and prints what the output block after it shows (times, ids
and waits aside)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
import redis

from .support.docs import DOCS
from .support.docs import code_blocks
from .support.servers import GunicornServer
from .support.servers import RedisServer
from .support.upstream import UpstreamServer

#: Pages whose ``.. code-block:: python`` examples run in the tests, each
#: page in one namespace, top to bottom.
EXAMPLE_PAGES: t.Final = (
    "index",
    "quickstart",
    "configuration",
    "formats",
    "blueprints",
    "client",
    "testing",
    "openapi",
    "validation",
    "streams",
    "availability",
    "limits",
    "upstreams",
    "example_app",
)

#: Live servers an example page may use, by the name its code uses: the
#: page gets the fixture's value when the name occurs in it.
LIVE_NAMES: t.Final = ("base_url", "redis_url", "upstream_url")

#: Pages whose examples import the repository's example app: a reader runs
#: them from the repository root, as the page says.
REPOSITORY_PAGES: t.Final = frozenset({"example_app"})

#: JSON members and response headers whose values change from run to run
#: (times, ids, waits): an output block shows an example value of the same shape.
VOLATILE_MEMBERS: t.Final = frozenset(
    {"timestamp", "correlation_id", "error_id", "reset", "reset_at", "retry_after"}
)
VOLATILE_HEADERS: t.Final = frozenset(
    {"content-length", "date", "retry-after", "x-ratelimit-reset", "x-request-id", "ratelimit"}
)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every ``.. code-block:: python``."""
    return [(b.line, b.code) for b in code_blocks(text) if b.language == "python"]


def _shape(value: t.Any) -> str:
    # "req_3f2a9c61d0b7e845" and "req_579016b4ea5bde35", 45 and 61, two
    # timestamps: same shape. Type names keep 1 and "1" apart.
    return type(value).__name__ + ":" + re.sub(r"[0-9a-f]", "x", str(value))


def _comparable(value: t.Any, key: str | None = None) -> t.Any:
    """``value`` with volatile members replaced by their shape; member order kept."""
    if key in VOLATILE_MEMBERS and not isinstance(value, (dict, list)):
        return _shape(value)
    if isinstance(value, dict):
        return [(k, _comparable(v, k)) for k, v in value.items()]
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return value


def _comparable_text(text: str) -> t.Any:
    """An output (a JSON document, or an HTTP response whose body may be
    JSON, or plain text) in a form where volatile values only keep their shape."""
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").splitlines()).strip()
    if text.startswith("HTTP/"):
        head, _, body = text.partition("\n\n")
        status, *fields = head.splitlines()
        headers = []
        for field in fields:
            name, _, value = field.partition(":")
            value = value.strip()
            headers.append((name, _shape(value) if name.lower() in VOLATILE_HEADERS else value))
        return status, headers, _comparable_text(body)
    try:
        return _comparable(json.loads(text))
    except ValueError:
        return text


def assert_same_output(printed: str, shown: str, where: str) -> None:
    """What an example printed is what its page shows, except for the
    values that change from run to run."""
    assert _comparable_text(printed) == _comparable_text(shown), (
        f"{where}: the example printed\n{printed}\nbut the page shows\n{shown}"
    )


@pytest.fixture(scope="module")
def base_url() -> t.Iterator[str]:
    """An API answering every kind of error, under gunicorn (client examples)."""
    with GunicornServer("tests.apps.client_app:app", health_path="/ok") as server:
        yield server.url


@pytest.fixture(scope="module")
def redis_server_url() -> t.Iterator[str]:
    """One Redis for the module's tests."""
    with RedisServer() as server:
        yield server.url + "/0"


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """An empty Redis database for one run of a page's examples, as a reader
    who runs them once has: the counts of an earlier run (the same routes,
    keys and client address, within the same minute) would refuse requests
    the page expects to pass."""
    client = redis.Redis.from_url(redis_server_url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server_url


@pytest.fixture(scope="module")
def upstream_server() -> t.Iterator[UpstreamServer]:
    """A real upstream that fails on demand (``/status/<code>``, ``/hang`` ...)."""
    with UpstreamServer() as server:
        yield server


@pytest.fixture
def upstream_url(upstream_server: UpstreamServer) -> str:
    """The upstream, its ``/flaky`` counters back at zero for one run of a
    page's examples."""
    upstream_server.clear()
    return upstream_server.url


#: Runs a page's Python blocks in one namespace, as a reader pastes them into
#: a fresh interpreter; prints what each block printed, as a JSON list.
OUTSIDE_RUNNER: t.Final = """\
import contextlib, io, json, sys

page = json.load(sys.stdin)
namespace = {"__name__": page["name"], **page["live"]}
printed = []
for block in page["blocks"]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = compile("\\n" * (block["line"] - 1) + block["code"], page["path"], "exec")
        exec(code, namespace)
    printed.append(out.getvalue())
sys.stdout.write(json.dumps(printed))
"""


@pytest.mark.parametrize("page", sorted(set(EXAMPLE_PAGES) - REPOSITORY_PAGES))
def test_code_examples_run_outside_the_repository(
    page: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """A reader who installed the package runs a page's examples in a
    directory of their own: nothing of this repository may be needed."""
    path = DOCS / f"{page}.rst"
    text = path.read_text(encoding="utf-8")
    blocks = code_blocks(text)
    python = [b for b in blocks if b.language == "python"]
    live = {n: request.getfixturevalue(n) for n in LIVE_NAMES if re.search(rf"\b{n}\b", text)}
    document = {
        "name": f"docs_{page}",
        "path": str(path),
        "live": live,
        "blocks": [{"line": b.line, "code": b.code} for b in python],
    }
    printed = dict(zip((b.line for b in python), _run_outside(document, tmp_path), strict=True))
    for i, block in enumerate(blocks[1:], start=1):
        before = blocks[i - 1]
        if block.is_output and before.language == "python":
            where = f"{path}:{block.line} (run in {tmp_path})"
            assert_same_output(printed[before.line], block.code, where)


def _run_outside(document: dict[str, t.Any], cwd: Path) -> list[str]:
    """What each block of ``document`` printed, run by OUTSIDE_RUNNER in
    ``cwd`` with the interpreter of the tests but without the repository on
    its path: the package comes from its installation, as for any user."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", OUTSIDE_RUNNER],
        input=json.dumps(document),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed: list[str] = json.loads(result.stdout)
    return printed


def test_outside_runner_sees_no_repository(tmp_path: Path) -> None:
    code = "import importlib.util as u; print(u.find_spec('example_app'), u.find_spec('tests'))"
    document = {"name": "x", "path": "x.rst", "live": {}, "blocks": [{"line": 1, "code": code}]}
    assert _run_outside(document, tmp_path) == ["None None\n"]


@pytest.mark.parametrize("page", EXAMPLE_PAGES)
def test_code_examples_run(page: str, request: pytest.FixtureRequest) -> None:
    path = DOCS / f"{page}.rst"
    text = path.read_text(encoding="utf-8")
    blocks = code_blocks(text)
    assert any(b.language == "python" for b in blocks), f"{page}.rst has no Python examples"
    namespace: dict[str, t.Any] = {"__name__": f"docs_{page}"}
    for name in LIVE_NAMES:
        if re.search(rf"\b{name}\b", text):
            namespace[name] = request.getfixturevalue(name)
    for i, block in enumerate(blocks):
        if block.language != "python":
            after_python = i > 0 and blocks[i - 1].language == "python"
            assert after_python or not block.is_output, f"{path}:{block.line}: output of nothing"
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            # Line numbers in tracebacks point into the page.
            code = compile("\n" * (block.line - 1) + block.code, str(path), "exec")
            exec(code, namespace)
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if following is not None and following.is_output:
            assert_same_output(printed.getvalue(), following.code, f"{path}:{following.line}")


def test_block_extraction() -> None:
    text = (
        "Intro\n\n.. code-block:: python\n   :caption: x\n\n    a = 1\n\n    if a:\n"
        "        b = 2\n\nAfter\n\n.. code-block:: console\n\n    $ ls\n"
    )
    assert python_blocks(text) == [(5, "a = 1\n\nif a:\n    b = 2\n")]
    blocks = code_blocks(text + "\n.. code-block:: json\n   :class: output\n\n    {}\n")
    assert [(b.language, b.is_output) for b in blocks] == [
        ("python", False),
        ("console", False),
        ("json", True),
    ]


SHOWN_RESPONSE: t.Final = """\
HTTP/1.1 429 TOO MANY REQUESTS
Content-Type: application/json
Retry-After: 45
X-Request-ID: req_3f2a9c61d0b7e845

{"error": "rate_limit_exceeded", "details": {"limit": 100, "retry_after": 45},
 "timestamp": "2023-12-01T10:04:15Z", "correlation_id": "req_3f2a9c61d0b7e845"}
"""


@pytest.mark.parametrize(
    ("printed", "same"),
    [
        (SHOWN_RESPONSE, True),
        # Other times, ids and waits of the same shape; other line ends and layout.
        (
            SHOWN_RESPONSE.replace("45", "61")
            .replace("3f2a9c61d0b7e845", "579016b4ea5bde35")
            .replace("10:04:15", "23:59:01")
            .replace("\n", "\r\n")
            .replace(', "details"', ',\n  "details"'),
            True,
        ),
        (SHOWN_RESPONSE.replace("429 TOO MANY", "503 SERVICE"), False),
        (SHOWN_RESPONSE.replace('"limit": 100', '"limit": 10'), False),
        (SHOWN_RESPONSE.replace("rate_limit_exceeded", "too_many_requests"), False),
        (SHOWN_RESPONSE.replace('"retry_after": 45', '"retry_after": "45"'), False),
        (SHOWN_RESPONSE.replace("Retry-After: 45\n", ""), False),
        (SHOWN_RESPONSE.replace("application/json", "text/html"), False),
        # Member order is part of the body.
        (
            SHOWN_RESPONSE.replace(
                '"limit": 100, "retry_after": 45', '"retry_after": 45, "limit": 100'
            ),
            False,
        ),
    ],
)
def test_output_comparison(printed: str, same: bool) -> None:
    if same:
        assert_same_output(printed, SHOWN_RESPONSE, "page")
    else:
        with pytest.raises(AssertionError):
            assert_same_output(printed, SHOWN_RESPONSE, "page")
