"""The example app's chat API files, in process: an upload's life (processing,
idle, deleted), files of other users, unsupported types and names, files too
large, uploads without a file, and the storage quota."""

from __future__ import annotations

import os
import time

from flask.testing import FlaskClient

from tests.support import example_inprocess
from tests.support.example_inprocess import ADMIN
from tests.support.example_inprocess import MakeApp
from tests.support.example_inprocess import assert_example
from tests.support.example_inprocess import bearer
from tests.support.example_inprocess import call
from tests.support.example_inprocess import multipart
from tests.support.example_inprocess import upload
from tests.support.example_inprocess import user_key

# The fixtures this module uses, by name (see tests/support/example_inprocess.py).
clean_environment = example_inprocess.clean_environment
make_app = example_inprocess.make_app
client = example_inprocess.client


def test_file_lifecycle(make_app: MakeApp) -> None:
    app = make_app(FILE_PROCESSING_SECONDS=0.3)
    client = app.test_client()
    created = upload(client, ADMIN, b"some notes", "notes.txt", "text/plain")
    assert created.status_code == 201
    record = created.get_json()
    assert (record["status"], record["bytes"]) == ("processing", 10)
    path = f"/files/{record['id']}"
    busy = call(client, "DELETE", path, headers=bearer(ADMIN))
    assert_example(busy, "422 Unprocessable Entity", "Invalid State")
    time.sleep(0.35)
    assert call(client, "GET", path, headers=bearer(ADMIN)).get_json()["status"] == "idle"
    assert call(client, "DELETE", path, headers=bearer(ADMIN)).get_json()["deleted"] is True
    assert call(client, "GET", path, headers=bearer(ADMIN)).status_code == 404
    assert not os.listdir(os.path.join(app.instance_path, "files"))


def test_file_not_found(client: FlaskClient) -> None:
    response = call(client, "GET", "/files/file-nonexistent", headers=bearer(ADMIN))
    assert_example(response, "404 Not Found", "File Not Found")


def test_other_users_file_is_not_found(client: FlaskClient) -> None:
    record = upload(client, ADMIN, b"x", "a.md", "text/markdown").get_json()
    response = call(client, "GET", f"/files/{record['id']}", headers=bearer(user_key(client)))
    assert response.status_code == 404


def test_unsupported_file_type(client: FlaskClient) -> None:
    response = upload(client, ADMIN, b"MZ", "setup.exe", "application/exe")
    assert_example(response, "415 Unsupported Media Type", "Unsupported File Type")


def test_file_type_guessed_from_the_name(client: FlaskClient) -> None:
    response = upload(client, ADMIN, b"%PDF-1.7", "paper.pdf", "application/octet-stream")
    assert response.get_json()["content_type"] == "application/pdf"


def test_file_too_large(make_app: MakeApp) -> None:
    client = make_app(MAX_FILE_BYTES=1000).test_client()
    response = upload(client, ADMIN, b"x" * 1001, "big.txt", "text/plain")
    body = response.get_json()
    assert response.status_code == 413
    assert body["message"] == "File size exceeds maximum limit"
    assert body["details"] == {"file_size": 1001, "max_size": 1000, "size_limit": "0.001MB"}


def test_upload_without_a_file(client: FlaskClient) -> None:
    body, mimetype = multipart([("other", "other.txt", "text/plain", b"x")])
    response = call(
        client, "POST", "/files", data=body, content_type=mimetype, headers=bearer(ADMIN)
    )
    errors_ = response.get_json()["details"]["validation_errors"]
    assert response.status_code == 400
    assert [(e["field"], e["message"], e["invalid_value"]) for e in errors_] == [
        ("file", "Field required", None)
    ]


def test_chat_storage_quota(make_app: MakeApp) -> None:
    client = make_app(STORAGE_QUOTA=10).test_client()
    assert upload(client, ADMIN, b"12345678", "a.txt", "text/plain").status_code == 201
    response = upload(client, ADMIN, b"123", "b.txt", "text/plain")
    body = response.get_json()
    assert (response.status_code, body["error"]) == (507, "insufficient_storage")
    assert body["details"] == {"required": 3, "available": 2}
