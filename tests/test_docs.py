"""The docs: they build with warnings as errors, their code examples run,
and the generated parts (settings, error reference) cover the code."""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import html
import importlib.util
import io
import json
import os
import re
import shlex
import subprocess
import sys
import types
import typing as t
from pathlib import Path

import click
import pytest
import redis
from gunicorn.config import Config as GunicornConfig

from example_app import create_app
from example_app.settings import DEFAULTS as EXAMPLE_APP_SETTINGS
from flask_apierrors import Catalog
from flask_apierrors import docgen
from flask_apierrors.config import all_names
from flask_apierrors.config import config_key

from .support.servers import GunicornServer
from .support.servers import RedisServer
from .support.upstream import UpstreamServer

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: The virtualenv the repository's scripts create: repository-only commands
#: (the example app, the benchmarks) name its programs, so they run as written
#: without activating it.
VENV_BIN: t.Final = ".venv/bin/"

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


def load_extension() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        "apierrors_docs", DOCS / "_ext" / "apierrors_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclasses.dataclass(frozen=True)
class Block:
    """One ``.. code-block::`` of a page."""

    #: Line number of the block's first line of code.
    line: int
    language: str
    #: The directive's options (``{"class": "output"}``).
    options: dict[str, str]
    code: str

    @property
    def is_output(self) -> bool:
        """Marked ``:class: output``: what the Python block before it prints."""
        return "output" in self.options.get("class", "").split()


def code_blocks(text: str) -> list[Block]:
    """Every ``.. code-block::`` of a reST text, in order."""
    lines = text.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = re.fullmatch(r"\s*\.\. code-block:: *(\S+)\s*", lines[i])
        if match is None:
            i += 1
            continue
        i += 1
        options: dict[str, str] = {}
        while i < len(lines) and lines[i].strip().startswith(":"):
            name, _, value = lines[i].strip()[1:].partition(":")
            options[name.strip()] = value.strip()
            i += 1
        start = i
        body: list[str] = []
        indent: int | None = None
        while i < len(lines):
            line = lines[i]
            if line.strip():
                width = len(line) - len(line.lstrip())
                if indent is None:
                    indent = width
                elif width < indent:
                    break
            body.append(line[indent:] if indent is not None and line.strip() else "")
            i += 1
        code = "\n".join(body).strip("\n") + "\n"
        blocks.append(Block(start + 1, match.group(1), options, code))
    return blocks


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


def flask_commands(text: str) -> list[list[str]]:
    """The arguments of every ``flask`` command a page shows (``$ flask`` lines
    of console blocks, ````flask ...```` literals), without ``--app``."""
    commands = [
        line[2:].partition(" #")[0].removeprefix(VENV_BIN)
        for block in code_blocks(text)
        if block.language == "console"
        for line in block.code.splitlines()
        if line.startswith(("$ flask ", f"$ {VENV_BIN}flask "))
    ]
    literals = re.sub(r"\s*\n\s*", " ", text)
    commands += re.findall(rf"``(?:{re.escape(VENV_BIN)})?(flask [^`]+)``", literals)
    found = []
    for command in commands:
        words = shlex.split(command)[1:]
        found.append(words[2:] if words[:1] == ["--app"] else words)
    return found


DOCUMENTED_COMMANDS: t.Final = [
    pytest.param(words, id=f"{path.stem}: {' '.join(words)}")
    for path in sorted(DOCS.glob("*.rst"))
    for words in flask_commands(path.read_text(encoding="utf-8"))
]


@pytest.fixture(scope="module")
def example_cli(tmp_path_factory: pytest.TempPathFactory) -> click.Group:
    """The commands of the example app (the extension's among them)."""
    app = create_app({"INSTANCE_PATH": str(tmp_path_factory.mktemp("instance"))})
    return app.cli


def test_flask_command_extraction() -> None:
    text = (
        "Run ``flask --app example_app maintenance on\n   --minutes 30``.\n\n"
        ".. code-block:: console\n\n    $ flask apierrors docs --format json  # JSON\n"
        "    $ .venv/bin/flask --app example_app create-keys\n"
        "    $ ls\n\nOr ``.venv/bin/flask --app example_app maintenance off``.\n"
    )
    assert flask_commands(text) == [
        ["apierrors", "docs", "--format", "json"],
        ["create-keys"],
        ["maintenance", "on", "--minutes", "30"],
        ["maintenance", "off"],
    ]


@pytest.mark.parametrize("words", DOCUMENTED_COMMANDS)
def test_documented_flask_commands_exist(words: list[str], example_cli: click.Group) -> None:
    command: click.Command = example_cli
    args = list(words)
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        name = args.pop(0)
        assert name in command.commands, f"no command {name!r} in {sorted(command.commands)}"
        command = command.commands[name]
    if isinstance(command, click.Group):
        # A group named on its own (``flask maintenance``).
        assert not args, f"{words}: {args} after the group {command.name!r}"
        return
    # Parsing checks the options, their values and the arguments; nothing runs.
    with command.make_context(command.name or "flask", args) as ctx:
        assert ctx.command is command


def test_documented_scripts_and_modules_exist() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.rst"))
    scripts = set(re.findall(r"\bscripts/[\w.-]+", text))
    assert scripts, "no script mentioned"
    for script in scripts:
        assert (ROOT / script).is_file(), script
    for module in set(re.findall(r"python -m ([\w.]+)", text)):
        assert importlib.util.find_spec(module) is not None, module


def gunicorn_commands(text: str) -> list[list[str]]:
    """The arguments of every ``gunicorn`` command a page shows."""
    commands = [
        line[2:].removeprefix(VENV_BIN)
        for block in code_blocks(text)
        if block.language == "console"
        for line in re.sub(r"\\\n\s*", "", block.code).splitlines()
        if line.startswith(("$ gunicorn ", f"$ {VENV_BIN}gunicorn "))
    ]
    literals = re.sub(r"\s*\n\s*", " ", text)
    commands += re.findall(rf"``(?:{re.escape(VENV_BIN)})?(gunicorn [^`]+)``", literals)
    return [shlex.split(command)[1:] for command in commands]


DOCUMENTED_GUNICORN_COMMANDS: t.Final = [
    pytest.param(args, id=f"{path.stem}: {' '.join(args)}")
    for path in sorted(DOCS.glob("*.rst"))
    for args in gunicorn_commands(path.read_text(encoding="utf-8"))
]


def commands(text: str) -> list[str]:
    """Every command a page shows: the ``$`` lines of its console blocks
    (continuation lines joined) and its ``literal`` commands."""
    found = [
        line[2:]
        for block in code_blocks(text)
        if block.language == "console"
        for line in re.sub(r"\\\n\s*", "", block.code).splitlines()
        if line.startswith("$ ")
    ]
    program = r"(?:\S*/)?(?:flask|gunicorn|python3?|pip) "
    found += re.findall(rf"``({program}[^`]+)``", re.sub(r"\s*\n\s*", " ", text))
    return found


DOCUMENTED_REPOSITORY_COMMANDS: t.Final = [
    pytest.param(command, id=f"{path.stem}: {command}")
    for path in sorted(DOCS.glob("*.rst"))
    for command in commands(path.read_text(encoding="utf-8"))
    if re.search(r"\b(example_app|benchmarks)\b", command)
]


def test_command_extraction() -> None:
    text = (
        ".. code-block:: console\n\n    $ .venv/bin/gunicorn -w 2 \\\n"
        "        example_app.wsgi:app\n    output\n\n"
        "And ``python -m benchmarks.run``, ``flask --app\n  myapp run``.\n"
    )
    assert commands(text) == [
        ".venv/bin/gunicorn -w 2 example_app.wsgi:app",
        "python -m benchmarks.run",
        "flask --app myapp run",
    ]


@pytest.mark.parametrize("command", DOCUMENTED_REPOSITORY_COMMANDS)
def test_repository_commands_run_as_written(command: str) -> None:
    """The example app and the benchmarks are not installed with the
    package: their commands run from the repository root with the programs
    of its virtualenv (which the README's commands create), or through the
    repository's scripts, not with whatever ``flask`` is on the PATH."""
    program = shlex.split(command)[0]
    if program != "bash":
        assert program.startswith(VENV_BIN), command
        # Installed by the dev setup (next to the interpreter of the tests).
        assert (Path(sys.executable).parent / program.removeprefix(VENV_BIN)).exists()


def test_install_commands_name_real_extras_and_the_built_wheel() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    extras = set(config["options.extras_require"]) - {"example", "dev"}
    wheel = "{}-{}-py3-none-any.whl".format(
        config["metadata"]["name"].replace("-", "_"), config["metadata"]["version"]
    )
    text = (DOCS / "quickstart.rst").read_text(encoding="utf-8")
    assert set(re.findall(r"dist/(\S+?\.whl)", text)) == {wheel}
    named = {e for group in re.findall(r"\[([a-z,]+)\]'", text) for e in group.split(",")}
    assert named and named <= extras
    listed = set(re.findall(r"^``([a-z]+)`` +\S", text, re.MULTILINE))
    assert listed == extras


@pytest.mark.parametrize("args", DOCUMENTED_GUNICORN_COMMANDS)
def test_documented_gunicorn_commands_parse(args: list[str]) -> None:
    # argparse exits (SystemExit) on an unknown option or a bad value.
    parsed = GunicornConfig().parser().parse_args(args)
    assert parsed.args, "no app named"


def test_deployment_page_names_real_gunicorn_settings() -> None:
    text = (DOCS / "deployment.rst").read_text(encoding="utf-8")
    config = GunicornConfig()
    flags = {flag for setting in config.settings.values() for flag in setting.cli or ()}
    mentioned = set(re.findall(r"``(--[a-z][a-z_-]*)", text))
    assert mentioned and mentioned <= flags, mentioned - flags
    # "``--limit-request-line`` (4094 bytes)": the defaults are gunicorn's.
    by_flag = {flag: s for s in config.settings.values() for flag in s.cli or ()}
    defaults = re.findall(r"- ``(--[a-z][a-z_-]*)`` \((\d+)", text)
    assert len(defaults) == 3
    for flag, default in defaults:
        assert by_flag[flag].default == int(default), flag
    assert "``--timeout`` seconds\n(30 by default)" in text
    assert by_flag["--timeout"].default == 30
    # The config file example sets real settings to values gunicorn accepts.
    for block in code_blocks(text):
        if block.language == "python":
            namespace: dict[str, t.Any] = {}
            exec(block.code, namespace)
            for name, value in namespace.items():
                if not name.startswith("__"):
                    config.set(name, value)
                    assert config.settings[name].get() == value


def test_example_app_page_documents_every_setting() -> None:
    text = (DOCS / "example_app.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. envvar:: EXAMPLE_APP_(\w+)$", text, re.MULTILINE))
    assert documented == set(EXAMPLE_APP_SETTINGS)
    # Every name mentioned anywhere is a setting (or the extension's prefix).
    pages = "\n".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.rst"))
    mentioned = set(re.findall(r"EXAMPLE_APP_([A-Z][A-Z0-9_]*[A-Z0-9])\b", pages))
    assert mentioned - {"APIERRORS"} <= set(EXAMPLE_APP_SETTINGS)
    gunicorn_conf = (ROOT / "example_app" / "gunicorn.conf.py").read_text(encoding="utf-8")
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_THREADS"):
        assert name in text and f'"{name}"' in gunicorn_conf, name


def test_index_lists_every_page() -> None:
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    entries = re.findall(r"^   ([a-z_]+)$", index, re.MULTILINE)
    listed = set(entries)
    pages = {p.stem for p in DOCS.glob("*.rst")} - {"index"}
    assert pages <= listed, pages - listed
    assert listed <= pages, listed - pages
    assert len(entries) == len(listed), f"listed twice: {entries}"
    # The reading order: the guide from the first steps, then the reference.
    assert entries[:2] == ["quickstart", "configuration"]
    assert entries[-1] == "changes"


@pytest.mark.slow
def test_docs_build_with_warnings_as_errors(tmp_path: Path) -> None:
    out = tmp_path / "html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    configuration = (out / "configuration.html").read_text(encoding="utf-8")
    for name in all_names():
        assert f'id="{config_key(name)}"' in configuration
    errors = text_of(out / "errors.html")
    reference = docgen.Reference.from_settings()
    for spec in Catalog.default():
        assert f"\n{docgen.display_code(spec, reference.app_scope)}¶\n" in errors, spec.code
        body = docgen.example_body(spec, reference.app_scope)
        assert json.dumps(body, indent=2, ensure_ascii=False) in errors, spec.code
    api = (out / "api.html").read_text(encoding="utf-8")
    for target in (
        "flask_apierrors.ApiErrors",
        "flask_apierrors.client.raise_for_error",
        "flask_apierrors.client.ErrorTracker",
        "flask_apierrors.openapi.ApiErrorsPlugin",
        "flask_apierrors.openapi.document",
        "flask_apierrors.testing.assert_api_error",
        "flask_apierrors.docgen.to_markdown",
    ):
        assert f'id="{target}"' in api, target


def text_of(path: Path) -> str:
    """The text of an HTML page, tags removed."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))
