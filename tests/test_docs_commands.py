"""The commands the docs show: ``flask`` commands the example app has,
``gunicorn`` commands and settings gunicorn accepts, scripts and modules
that exist, repository commands run with the virtualenv's programs, and
install commands naming real extras and the wheel this version builds."""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import sys
import typing as t
from pathlib import Path

import click
import pytest
from gunicorn.config import Config as GunicornConfig

from example_app import create_app

from .support.docs import DOCS
from .support.docs import ROOT
from .support.docs import code_blocks

#: The virtualenv the repository's scripts create: repository-only commands
#: (the example app, the benchmarks) name its programs, so they run as written
#: without activating it.
VENV_BIN: t.Final = ".venv/bin/"


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
