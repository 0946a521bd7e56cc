"""Chunked and ``Content-Length`` uploads to a server on 127.0.0.1, for the
gunicorn upload tests (test_uploads_gunicorn, test_uploads_gunicorn_example,
test_bodylimit): with http.client from a generator, or byte for byte on a
socket, and the JSON error an answer must be.

A test module binds the ``report_timings`` fixture by name
(``report_timings = chunked_uploads.report_timings``) to have the upload
timings printed at its end.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import threading
import time
import typing as t

import pytest

from flask_apierrors.correlation import VALID_ID

TIMEOUT: t.Final = 30.0
MB: t.Final = 1_000_000

#: (what, bytes, seconds) of every upload, printed (and then forgotten) at
#: the end of each module that binds :func:`report_timings`.
TIMINGS: list[tuple[str, int, float]] = []


@pytest.fixture(scope="module", autouse=True)
def report_timings() -> t.Iterator[None]:
    yield
    for what, size, seconds in TIMINGS:
        print(f"upload {what}: {size} bytes in {seconds:.3f}s")
    TIMINGS.clear()


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def pieces(data: bytes, seed: int = 0) -> t.Iterator[bytes]:
    """``data`` in pieces of irregular sizes (1 byte to 64 KiB)."""
    rng = random.Random(seed)
    pos = 0
    while pos < len(data):
        n = rng.choice([1, 7, 512, 4096, 16384, 65536])
        yield data[pos : pos + n]
        pos += n


def multipart(name: str, data: bytes, content_type: str, boundary: str = "up-1") -> bytes:
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{name}"; filename="upload.bin"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode()


class Answer(t.NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> t.Any:
        return json.loads(self.body)


def post(
    port: int,
    path: str,
    data: bytes,
    *,
    chunked: bool,
    headers: t.Mapping[str, str] | None = None,
    what: str = "",
) -> Answer:
    """POST ``data`` with http.client: from a generator as chunks, or with
    ``Content-Length``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    started = time.monotonic()
    try:
        if chunked:
            conn.request(
                "POST",
                path,
                body=pieces(data),
                headers={"Transfer-Encoding": "chunked", **(headers or {})},
                encode_chunked=True,
            )
        else:
            conn.request("POST", path, body=data, headers=dict(headers or {}))
        response = conn.getresponse()
        answer = Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()
    if what:
        TIMINGS.append(
            (
                f"{what} {'chunked' if chunked else 'content-length'}",
                len(data),
                time.monotonic() - started,
            )
        )
    return answer


def exchange(
    port: int,
    head: bytes,
    body: t.Iterable[bytes] = (),
    *,
    hold: bool = False,
    end: bool = False,
) -> Answer:
    """Send ``head`` and ``body`` on a socket from a thread while reading the
    answer, as a careful client does (an early answer is not lost to a
    reset); with ``hold``, then keep the connection open without sending
    more, until the answer has come; with ``end``, then end the sending side
    (a half-close: the server reads the end of the body)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    release = threading.Event()

    def send() -> None:
        try:
            sock.sendall(head)
            for chunk in body:
                sock.sendall(chunk)
            if end:
                sock.shutdown(socket.SHUT_WR)
            if hold:
                release.wait(TIMEOUT)
        except OSError:
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    data = bytearray()
    try:
        while b"\r\n\r\n" not in data or not _complete(bytes(data)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    release.set()
    sender.join(TIMEOUT)
    sock.close()
    head_bytes, _, payload_bytes = bytes(data).partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), bytes(data[:200])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Answer(int(lines[0].split()[1]), headers, payload_bytes)


def _complete(data: bytes) -> bool:
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def chunk_frames(data: bytes, size: int = 4096) -> t.Iterator[bytes]:
    for i in range(0, len(data), size):
        piece = data[i : i + size]
        yield b"%x\r\n%s\r\n" % (len(piece), piece)
    yield b"0\r\n\r\n"


def request_head(path: str, headers: t.Mapping[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def json_error(answer: Answer, status: int) -> dict[str, t.Any]:
    assert answer.status == status, answer.body[:300]
    assert answer.headers["content-type"].split(";")[0] == "application/json"
    body = json.loads(answer.body)
    assert VALID_ID.fullmatch(answer.headers["x-request-id"])
    assert body["correlation_id"] == answer.headers["x-request-id"]
    return t.cast(dict[str, t.Any], body)
