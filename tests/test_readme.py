"""The README (also the package's long description) says what is true: its
example answers as shown, its install commands name real extras and the
wheel this version builds, and the repository's two commands exist."""

from __future__ import annotations

import configparser
import json
import re
import typing as t
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"


def fenced(language: str, text: str | None = None) -> list[str]:
    """The code of every fenced block of ``language`` in the README."""
    text = README.read_text(encoding="utf-8") if text is None else text
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def metadata() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    return config


def test_example_answers_as_shown() -> None:
    (code,) = fenced("python")
    (shown,) = fenced("json")
    namespace: dict[str, t.Any] = {"__name__": "jobs"}
    exec(compile(code, str(README), "exec"), namespace)
    client = namespace["app"].test_client()

    response = client.get("/jobs/42")
    body = response.get_json()
    expected = json.loads(shown)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    # Same members in the same order; equal values but for the time and id.
    assert list(body) == list(expected)
    volatile = {"timestamp", "correlation_id"}
    assert {k: v for k, v in body.items() if k not in volatile} == {
        k: v for k, v in expected.items() if k not in volatile
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])
    assert re.fullmatch(r"req_[0-9a-f]{16}", body["correlation_id"])
    assert re.fullmatch(r"req_[0-9a-f]{16}", expected["correlation_id"])
    assert response.headers["X-Request-ID"] == body["correlation_id"]

    assert client.get("/nowhere").get_json()["error"] == "not_found"


def test_install_commands_name_the_real_extras_and_wheel() -> None:
    text = README.read_text(encoding="utf-8")
    config = metadata()
    extras = set(config["options.extras_require"])
    # The table lists every extra a user installs (example and dev belong to
    # the repository), and nothing else.
    listed = set(re.findall(r"^\| `([a-z]+)` +\|", text, flags=re.M))
    assert listed == extras - {"example", "dev"}
    for extra in re.findall(r"\[([a-z,]+)\]'", text):
        assert set(extra.split(",")) <= extras, extra
    version = config["metadata"]["version"]
    name = config["metadata"]["name"].replace("-", "_")
    wheels = set(re.findall(r"dist/(\S+?\.whl)", text))
    assert wheels == {f"{name}-{version}-py3-none-any.whl"}
    assert "pip install flask-apierrors" in text


def test_links_are_the_project_urls() -> None:
    text = README.read_text(encoding="utf-8")
    urls = metadata()["metadata"]["project_urls"].strip().splitlines()
    for line in urls:
        label, _, url = (part.strip() for part in line.partition("="))
        assert f"- {label}: {url}\n" in text, label


def test_the_two_commands_exist() -> None:
    text = README.read_text(encoding="utf-8")
    for script in ("scripts/run.sh", "scripts/test.sh"):
        assert f"bash {script}" in text
        assert (ROOT / script).is_file()
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
