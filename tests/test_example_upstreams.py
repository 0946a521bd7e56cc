"""The example app's chat API and the services behind it, in process with
the stand-in services on loopback: the model service's failures, timeouts
and refusals, the search service's errors, and research timeouts (whole or
partial, and for a service that answers a byte at a time)."""

from __future__ import annotations

import re
import time
import typing as t

import pytest
from flask.testing import FlaskClient

from example_app import chat_model
from example_app.standin import StandinService
from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import VOLATILE
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import bearer
from tests.support.example_inprocess import call
from tests.support.example_inprocess import chat_body
from tests.support.upstream import refused_url

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
client = example_inprocess.client
standin = example_inprocess.standin


# -- chat API: the model service ---------------------------------------------------


def test_completion_from_the_model_service(make_app: MakeApp, standin: StandinService) -> None:
    client = make_app(MODEL_SERVICE_URL=standin.url).test_client()
    response = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    assert response.status_code == 200
    assert response.get_json()["choices"] == chat_model.completion(chat_body())["choices"]


@pytest.mark.parametrize(
    ("prompt", "status", "message", "details"),
    [
        (
            "simulate:reset",
            502,
            "AI model service unavailable",
            {"model": "Melanie-3", "upstream_error": "Connection reset", "retry_suggested": True},
        ),
        (
            "simulate:error",
            502,
            "AI model service unavailable",
            {
                "model": "Melanie-3",
                "upstream_status": 500,
                "upstream_message": "Internal server error",
            },
        ),
        (
            "simulate:overload",
            503,
            "System temporarily overloaded",
            {"retry_after": 30, "load_level": "high", "suggestion": "Please retry in 30 seconds"},
        ),
        (
            "simulate:rate-limit",
            503,
            "System temporarily overloaded",
            {"retry_after": 30, "load_level": "high", "suggestion": "Please retry in 30 seconds"},
        ),
        (
            "simulate:hang",
            504,
            "AI model response timeout",
            {
                "model": "Melanie-3",
                "timeout_duration": 0.5,
                "suggestion": "Try reducing request complexity or using a lighter model",
            },
        ),
    ],
)
def test_model_service_failures(
    make_app: MakeApp,
    standin: StandinService,
    prompt: str,
    status: int,
    message: str,
    details: dict[str, t.Any],
) -> None:
    client = make_app(MODEL_SERVICE_URL=standin.url, UPSTREAM_TIMEOUT=0.5).test_client()
    payload = chat_body(prompt)
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    body = response.get_json()
    assert (response.status_code, body["message"], body["details"]) == (status, message, details)
    assert standin.url not in response.get_data(as_text=True)
    if status == 503:
        assert response.headers["Retry-After"] == "30"


def test_model_service_refused(make_app: MakeApp) -> None:
    client = make_app(MODEL_SERVICE_URL=refused_url("")).test_client()
    response = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    body = assert_example(
        response, "502 Bad Gateway", "AI Model Error", aside=VOLATILE | {"upstream_error"}
    )
    assert body["details"]["upstream_error"] == "Connection refused"


def test_models_unavailable(make_app: MakeApp, standin: StandinService) -> None:
    standin.unavailable_models = ["Melanie-3", "Melanie-3-light"]
    standin.estimated_recovery = "2023-12-01T10:15:00Z"
    client = make_app(MODEL_SERVICE_URL=standin.url).test_client()
    response = call(client, "POST", "/chat/completions", json=chat_body(), headers=bearer(ADMIN))
    assert_example(response, "503 Service Unavailable", "AI Models Unavailable")


def test_search_service_error(make_app: MakeApp, standin: StandinService) -> None:
    client = make_app(SEARCH_SERVICE_URL=standin.url).test_client()
    payload = chat_body("simulate:unavailable", web_search=True)
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    assert_example(response, "502 Bad Gateway", "External API Error")


# -- chat API: research -----------------------------------------------------------


def test_research(client: FlaskClient) -> None:
    payload = {"query": "error handling", "depth": 2}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == 6


@pytest.mark.parametrize(("depth", "partial"), [(1, False), (2, True)])
def test_research_timeout(
    make_app: MakeApp, standin: StandinService, depth: int, partial: bool
) -> None:
    client = make_app(SEARCH_SERVICE_URL=standin.url, RESEARCH_TIMEOUT=0.4).test_client()
    # A slow search answers in 0.3 s, so the second one runs out of time.
    payload = {"query": "simulate:slow" if partial else "simulate:hang", "depth": depth}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    body = response.get_json()
    assert response.status_code == 504
    assert body["message"] == "Research operation timeout"
    assert body["details"] == {
        "operation": "deep_research",
        "timeout_duration": 0.4,
        "partial_results_available": partial,
    }


def test_a_whole_research_timeout_is_written_as_an_integer(
    make_app: MakeApp, standin: StandinService
) -> None:
    # The documented body says 300, not 300.0: a client may read an integer.
    client = make_app(SEARCH_SERVICE_URL=standin.url, RESEARCH_TIMEOUT=1.0).test_client()
    payload = {"query": "simulate:hang", "depth": 1}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    assert response.status_code == 504
    assert re.search(r'"timeout_duration":1[,}]', response.get_data(as_text=True))


def test_a_model_service_that_answers_a_byte_at_a_time_is_cut_at_upstream_timeout(
    make_app: MakeApp, standin: StandinService
) -> None:
    # httpx's timeout bounds each wait, never reached here: the whole answer
    # is due within UPSTREAM_TIMEOUT.
    client = make_app(MODEL_SERVICE_URL=standin.url, UPSTREAM_TIMEOUT=0.5).test_client()
    started = time.monotonic()
    payload = chat_body("simulate:drip")
    response = call(client, "POST", "/chat/completions", json=payload, headers=bearer(ADMIN))
    took = time.monotonic() - started
    body = response.get_json()
    assert (response.status_code, body["message"]) == (504, "AI model response timeout")
    assert body["details"]["timeout_duration"] == 0.5
    assert took < 1.5


def test_a_search_that_answers_a_byte_at_a_time_runs_out_of_research_time(
    make_app: MakeApp, standin: StandinService
) -> None:
    client = make_app(SEARCH_SERVICE_URL=standin.url, RESEARCH_TIMEOUT=0.5).test_client()
    started = time.monotonic()
    payload = {"query": "simulate:drip", "depth": 2}
    response = call(client, "POST", "/research", json=payload, headers=bearer(ADMIN))
    took = time.monotonic() - started
    assert response.status_code == 504
    assert response.get_json()["details"] == {
        "operation": "deep_research",
        "timeout_duration": 0.5,
        "partial_results_available": False,
    }
    assert took < 1.5
