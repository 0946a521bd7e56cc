"""What a stranger installs: the sdist holds the package and no tests, and the
wheel, installed with its extras into a fresh virtualenv, runs the README's
example outside this repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import typing as t
from pathlib import Path

import pytest

from .test_readme import ROOT
from .test_readme import fenced
from .test_readme import metadata

pytestmark = pytest.mark.slow

#: Each step (a build, an install, the example) may take this long, in seconds.
STEP_TIMEOUT: t.Final = 120

#: Runs next to the README's example saved as ``jobs.py``, in the fresh venv.
CHECK: t.Final = """\
import json
import flask_apierrors
import jobs

client = jobs.app.test_client()
response = client.get("/jobs/42")
print(json.dumps({
    "module": flask_apierrors.__file__,
    "status": response.status_code,
    "body": response.get_json(),
    "nowhere": client.get("/nowhere").get_json()["error"],
}))
"""


def run(*args: str | Path, cwd: Path) -> str:
    # Nothing of this repository leaks in through the environment.
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel built from it, as ``python -m build`` makes them."""
    pytest.importorskip("build", reason="the dev extra installs build")
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=out)
    return out


def test_sdist_holds_the_package_and_leaves_the_repository_out(dist: Path) -> None:
    config = metadata()["metadata"]
    (sdist,) = dist.glob("*.tar.gz")
    top = f"{config['name'].replace('-', '_')}-{config['version']}"
    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()} - {""}
    tops = {name.partition("/")[0] for name in names}
    assert tops == {
        "CHANGES.rst",
        "LICENSE",
        "MANIFEST.in",
        "PKG-INFO",
        "README.md",
        "flask_apierrors",
        "flask_apierrors.egg-info",
        "pyproject.toml",
        "setup.cfg",
    }
    assert "flask_apierrors/py.typed" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert sdist.name == f"{top}.tar.gz"


def test_wheel_installs_with_extras_and_runs_the_readme_example(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    # This pip installs into the new venv, with its usual index and cache:
    # the extras' requirements must resolve, not only the wheel.
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        f"{wheel}[all]",
        cwd=tmp_path,
    )
    (code,) = fenced("python")
    (shown,) = fenced("json")
    work = tmp_path / "work"
    work.mkdir()
    (work / "jobs.py").write_text(code, encoding="utf-8")
    (work / "check.py").write_text(CHECK, encoding="utf-8")

    result = json.loads(run(python, "check.py", cwd=work))

    assert Path(result["module"]).is_relative_to(venv)
    assert result["status"] == 404
    expected = json.loads(shown)
    assert list(result["body"]) == list(expected)
    assert result["body"]["details"] == expected["details"] == {"job_id": "42"}
    assert result["nowhere"] == "not_found"
    # The extras came along, and the command line works.
    run(python, "-c", "import flask_limiter, marshmallow, redis, httpx, apispec", cwd=work)
    reference = json.loads(
        run(
            venv / "bin" / "flask",
            "--app",
            "jobs",
            "apierrors",
            "docs",
            "--format",
            "json",
            cwd=work,
        )
    )
    assert "job_not_found" in json.dumps(reference)
