"""The example app's image API before any generation, in process: its keys
and their errors, batch uploads and their validation (formats, sizes, counts,
storage quota, a missing generation service), job ids, and its rate limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from example_app import settings
from example_app.standin import StandinService
from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import PNG
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import batch
from tests.support.example_inprocess import bearer
from tests.support.example_inprocess import call
from tests.support.example_inprocess import user_key

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
client = example_inprocess.client
standin = example_inprocess.standin


# -- image API: keys --------------------------------------------------------------


def test_authentication_required_until_a_key_exists(make_app: MakeApp) -> None:
    app = make_app(ADMIN_KEY=None)
    client = app.test_client()
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    assert_example(response, "AUTHENTICATION_REQUIRED")
    assert app.test_cli_runner().invoke(args=["create-keys"]).exit_code == 0
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    assert_example(response, "INVALID_API_KEY")


@pytest.mark.parametrize("key", ["mel_" + "Z" * 32, "garbage", " "])
def test_invalid_api_key(client: FlaskClient, key: str) -> None:
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": key})
    if key.strip():
        assert_example(response, "INVALID_API_KEY")
    else:
        body = response.get_json()
        assert (response.status_code, body["error_code"]) == (403, "INVALID_API_KEY")
        assert body["details"] == {"header": "X-API-Key"}


def test_deactivated_key_is_invalid_on_the_image_api(client: FlaskClient) -> None:
    key = user_key(client)
    call(client, "DELETE", f"/api-keys/{key[:12]}", headers=bearer(key))
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": key})
    assert_example(response, "INVALID_API_KEY")


def test_admin_route(client: FlaskClient) -> None:
    key = user_key(client)
    denied = call(client, "GET", "/api/v1/admin/stats", headers={"X-API-Key": key})
    assert_example(denied, "INSUFFICIENT_PERMISSIONS")
    allowed = call(client, "GET", "/api/v1/admin/stats", headers={"X-API-Key": ADMIN})
    assert allowed.get_json()["storage_quota"] == settings.DEFAULTS["STORAGE_QUOTA"]


# -- image API: uploads --------------------------------------------------------------


def test_invalid_file_format(client: FlaskClient) -> None:
    assert_example(batch(client, (b"BM", "image.bmp")), "VALIDATION_ERROR")


def test_upload_without_files(client: FlaskClient) -> None:
    response = call(client, "POST", "/api/v1/batch/upload", headers={"X-API-Key": ADMIN})
    body = response.get_json()
    assert (response.status_code, body["error_code"]) == (400, "VALIDATION_ERROR")
    assert body["details"]["validation_errors"][0]["field"] == "files"


def test_file_too_large_for_a_batch(client: FlaskClient) -> None:
    assert_example(batch(client, (b"x" * 15728640, "big.png")), "FILE_TOO_LARGE")


def test_too_many_files(client: FlaskClient) -> None:
    files = [(PNG, f"{i}.png") for i in range(30)]
    assert_example(batch(client, *files), "TOO_MANY_FILES")


def test_storage_quota(make_app: MakeApp) -> None:
    client = make_app(STORAGE_QUOTA=524288).test_client()
    assert_example(batch(client, (b"x" * 1048576, "a.png")), "STORAGE_ERROR")


def test_generation_service_not_configured(client: FlaskClient) -> None:
    assert_example(batch(client, (PNG, "a.png")), "CONFIGURATIONEXCEPTION")


def test_upload_storage_failure(make_app: MakeApp, standin: StandinService) -> None:
    app = make_app(GENERATION_SERVICE_URL=standin.url)
    Path(app.instance_path, "uploads").write_text("not a directory")
    response = batch(app.test_client(), (PNG, "a.png"))
    body = assert_example(response, "PROCESSING_ERROR")
    assert body["detail"]["details"]["correlation_id"] == response.headers["X-Request-ID"]


def test_job_ids(client: FlaskClient) -> None:
    assert_example(
        call(client, "GET", "/api/v1/jobs/invalid@id", headers={"X-API-Key": ADMIN}),
        "INVALID_JOB_ID",
    )
    missing = call(
        client, "GET", "/api/v1/jobs/batch_20240315_123456_abc123", headers={"X-API-Key": ADMIN}
    )
    assert_example(missing, "JOB_NOT_FOUND")


# -- image API: rate limit ---------------------------------------------------------


def test_image_rate_limit(make_app: MakeApp) -> None:
    client = make_app(IMAGE_RATE_LIMIT="60 per minute").test_client()
    for _ in range(60):
        call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    response = call(client, "GET", "/api/v1/jobs/x", headers={"X-API-Key": ADMIN})
    body = assert_example(response, "RATE_LIMIT_EXCEEDED")
    assert int(response.headers["Retry-After"]) == body["detail"]["details"]["retry_after"]
    assert response.headers["X-RateLimit-Limit"] == "60"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Reset"]) > time.time()
    # The chat API counts separately.
    assert call(client, "GET", "/files/x", headers=bearer(ADMIN)).status_code == 404
