"""The README's quickstart does what the README says."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_quickstart_runs_and_answers_as_documented() -> None:
    text = README.read_text(encoding="utf-8")
    (code,) = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    namespace: dict[str, t.Any] = {"__name__": "readme_quickstart"}
    exec(compile(code, str(README), "exec"), namespace)
    client = namespace["app"].test_client()

    response = client.get("/jobs/42")
    body = response.get_json()
    assert response.status_code == 404
    assert list(body) == ["error", "message", "details", "timestamp", "correlation_id"]
    assert (body["error"], body["message"], body["details"]) == (
        "job_not_found",
        "Job not found",
        {"job_id": "42"},
    )
    assert client.get("/nowhere").get_json()["error"] == "not_found"
    assert namespace["DatabaseException"]().error_code == "DATABASEEXCEPTION"


def test_the_two_commands_exist() -> None:
    text = README.read_text(encoding="utf-8")
    for script in ("scripts/run.sh", "scripts/test.sh"):
        assert f"bash {script}" in text
        assert (README.parent / script).is_file()
    assert "scripts/test.sh" in (README.parent / ".ci" / "run").read_text(encoding="utf-8")
