"""What a hostile client sends never becomes a 5xx: JSON nested past the
parser's limit, form limits named as such, ids nobody can predict."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask import request

from flask_apierrors import ApiErrors


@pytest.fixture
def hostile_app() -> Flask:
    app = Flask("hostile_app")
    ApiErrors(app)

    @app.post("/json")
    def json_view() -> dict[str, int]:
        return {"n": len(str(request.get_json()))}

    @app.post("/form")
    def form_view() -> dict[str, int]:
        return {"n": len(request.form)}

    @app.get("/recurse")
    def recurse() -> t.Any:
        def deeper(n: int) -> int:
            return deeper(n + 1)

        return {"n": deeper(0)}

    return app


@pytest.mark.parametrize("depth", [5_000, 100_000])
@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_past_the_parsers_limit_is_invalid_json(
    hostile_app: Flask, depth: int, opening: str
) -> None:
    closing = "]" if opening == "[" else "}"
    body = opening * depth + "1" + closing * depth
    response = hostile_app.test_client().post("/json", data=body, content_type="application/json")
    assert response.status_code == 400
    data = response.get_json()
    assert data["error"] == "invalid_json"
    assert data["details"] == {"json_error": "JSON nested too deeply"}


def test_a_recursion_error_of_the_apps_own_is_still_a_500(hostile_app: Flask) -> None:
    response = hostile_app.test_client().get("/recurse")
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal_server_error"


def test_too_many_form_parts_says_so(hostile_app: Flask) -> None:
    hostile_app.config["MAX_FORM_PARTS"] = 10
    data = {f"f{i}": "x" for i in range(20)}
    response = hostile_app.test_client().post(
        "/form", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    body = response.get_json()
    assert body["message"] == "The form has too many parts"
    assert body["details"] == {"max_form_parts": 10}


def test_a_form_field_over_the_memory_limit_says_so(hostile_app: Flask) -> None:
    hostile_app.config["MAX_FORM_MEMORY_SIZE"] = 100
    response = hostile_app.test_client().post(
        "/form", data={"a": "x" * 1000}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    body = response.get_json()
    assert body["message"] == "A form field is too large"
    assert body["details"] == {"max_form_memory_size": 100}


def test_a_body_over_max_content_length_keeps_its_details(hostile_app: Flask) -> None:
    hostile_app.config["MAX_CONTENT_LENGTH"] = 100
    response = hostile_app.test_client().post(
        "/json", data="[" + "1," * 100 + "1]", content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["details"]["max_size"] == 100


def test_ids_come_from_the_operating_systems_csprng(
    hostile_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import random

    from flask_apierrors import correlation

    calls: list[int] = []
    real = os.urandom

    def counting(n: int) -> bytes:
        calls.append(n)
        return real(n)

    monkeypatch.setattr(os, "urandom", counting)
    correlation._ids.clear()
    random.seed(0)
    first = hostile_app.test_client().get("/missing").headers["X-Request-ID"]
    random.seed(0)
    second = hostile_app.test_client().get("/missing").headers["X-Request-ID"]
    assert first != second
    # Read from the OS a page at a time, not one system call per id.
    assert calls.count(4096) == 1


def test_a_forked_worker_makes_ids_of_its_own() -> None:
    import os

    from flask_apierrors.correlation import new_id

    new_id("req_")  # the parent has bytes buffered
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.write(write, new_id("req_").encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child.startswith("req_") and child != new_id("req_")
