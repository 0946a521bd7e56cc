"""The example app's upload routes through a real gunicorn: a chunked 2 MB
upload is taken exactly as it is taken with ``Content-Length`` (the same
answer, the same bytes stored), and a chunked JSON body over the limit is
the JSON 413."""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import sqlite3
import typing as t
from pathlib import Path

import pytest

from .support import chunked_uploads
from .support.chunked_uploads import MB
from .support.chunked_uploads import chunk_frames
from .support.chunked_uploads import exchange
from .support.chunked_uploads import multipart
from .support.chunked_uploads import post
from .support.chunked_uploads import request_head
from .support.example_server import example_gunicorn
from .support.servers import GunicornServer

pytestmark = pytest.mark.slow

EXAMPLE_ADMIN: t.Final = "mel_" + "Up10ad" * 5 + "Ch"

#: Prints the upload timings at the end of the module.
report_timings = chunked_uploads.report_timings


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[GunicornServer, Path]]:
    instance = tmp_path_factory.mktemp("uploads") / "instance"
    env = {"EXAMPLE_APP_INSTANCE_PATH": str(instance), "EXAMPLE_APP_ADMIN_KEY": EXAMPLE_ADMIN}
    with example_gunicorn(env, workers=2, worker_class="gthread", threads=4) as srv:
        # Up: /health answered (the master's children include the stand-in
        # generation service, so workers are not counted here).
        yield srv, instance


#: Values that differ between two uploads of the same file.
VOLATILE: t.Final = frozenset({"id", "file_id", "job_id", "created_at", "status"})


def _stable(value: t.Any) -> t.Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def test_example_file_upload_takes_chunked_as_content_length(
    example: tuple[GunicornServer, Path],
) -> None:
    server, instance = example
    data = bytes(random.Random(2).choices(b"abcdefghij \n", k=2 * MB))
    body = multipart("file", data, "text/plain", boundary="example-boundary")
    headers = {
        "Authorization": f"Bearer {EXAMPLE_ADMIN}",
        "Content-Type": "multipart/form-data; boundary=example-boundary",
    }
    answers = {
        chunked: post(server.port, "/files", body, chunked=chunked, headers=headers, what="/files")
        for chunked in (False, True)
    }
    for answer in answers.values():
        assert answer.status == 201, answer.body[:300]
        assert answer.json()["bytes"] == 2 * MB
    assert _stable(answers[True].json()) == _stable(answers[False].json())
    with contextlib.closing(sqlite3.connect(instance / "example_app.sqlite3")) as db:
        stored = {row[0] for row in db.execute("SELECT sha256 FROM files")}
    assert stored == {hashlib.sha256(data).hexdigest()}


def test_example_batch_upload_takes_chunked_as_content_length(
    example: tuple[GunicornServer, Path],
) -> None:
    server, instance = example
    png = b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(2 * MB - 8)
    body = multipart("files", png, "image/png", boundary="batch-boundary")
    body = body.replace(b'filename="upload.bin"', b'filename="photo.png"')
    headers = {
        "X-API-Key": EXAMPLE_ADMIN,
        "Content-Type": "multipart/form-data; boundary=batch-boundary",
    }
    answers = {
        chunked: post(
            server.port,
            "/api/v1/batch/upload",
            body,
            chunked=chunked,
            headers=headers,
            what="batch",
        )
        for chunked in (False, True)
    }
    for answer in answers.values():
        assert answer.status == 202, answer.body[:300]
        job_id = answer.json()["job_id"]
        saved = list((instance / "uploads" / job_id).iterdir())
        assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in saved] == [
            hashlib.sha256(png).hexdigest()
        ]
    assert _stable(answers[True].json()) == _stable(answers[False].json())


def test_example_chunked_json_over_its_limit_is_the_json_413(
    example: tuple[GunicornServer, Path],
) -> None:
    server, _ = example
    head = request_head(
        "/chat/completions",
        {
            "Authorization": f"Bearer {EXAMPLE_ADMIN}",
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
    )
    answer = exchange(server.port, head, chunk_frames(b" " * (2 * MB), 65536))
    assert answer.status == 413
    assert json.loads(answer.body)["correlation_id"] == answer.headers["x-request-id"]
