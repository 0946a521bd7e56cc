"""A small local stand-in for the services the example app calls: a chat
model, a web search and a 3D-model generator, over real HTTP on loopback.

It answers like the real thing and fails on demand, so every upstream error
of the example can be seen without an outside service:

``POST /v1/chat/completions``
    the local model's ``chat.completion``. A last message containing
    ``simulate:error`` gets a 500, ``simulate:overload`` a 503 and
    ``simulate:rate-limit`` a 429 (both with ``Retry-After: 30``),
    ``simulate:reset`` a TCP reset, ``simulate:hang`` no answer,
    ``simulate:drip`` its answer a byte at a time. Models set unavailable
    (``--unavailable``) get a 503 naming them.
``POST /v1/search``
    ``{"results": [...]}``; a query containing ``simulate:unavailable`` gets
    a 503 "Service temporarily unavailable", ``simulate:slow`` its answer
    after a while, ``simulate:hang`` none, ``simulate:drip`` its answer a
    byte at a time.
``POST /v1/generate`` (the image as the body, its name percent-encoded as
    UTF-8 in ``X-Filename``)
    ``202 {"request_id"}``; then ``GET /v1/requests/<id>/status`` reports
    ``IN_PROGRESS`` with ``progress`` until ``COMPLETED``, and
    ``GET /v1/requests/<id>/result`` returns a glTF binary model. A file
    name containing ``fail`` gets a 500, ``busy`` a 429 with
    ``Retry-After: 60``, ``reset`` a TCP reset, ``garbage`` a result that is
    not a model, ``slow`` a long generation.

Run it with ``python -m example_app.standin --port 8001``; the gunicorn
configuration starts one when ``EXAMPLE_APP_GENERATION_SERVICE_URL`` is
unset.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import signal
import socket
import struct
import threading
import time
import typing as t
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

from . import chat_model

if t.TYPE_CHECKING:
    from types import TracebackType

#: The longest a ``simulate:hang`` request is held.
MAX_HANG_SECONDS: t.Final = 120.0
#: Seconds between the bytes of a ``simulate:drip`` answer.
DRIP_SECONDS: t.Final = 0.05


def glb(source: str, data: bytes) -> bytes:
    """A minimal, valid glTF 2.0 binary naming the image it was made from."""
    document = {
        "asset": {"version": "2.0", "generator": "example_app stand-in"},
        "extras": {"source": source, "sha256": hashlib.sha256(data).hexdigest()},
    }
    chunk = json.dumps(document).encode()
    chunk += b" " * (-len(chunk) % 4)
    total = 12 + 8 + len(chunk)
    return b"glTF" + struct.pack("<II", 2, total) + struct.pack("<I", len(chunk)) + b"JSON" + chunk


class _Generation:
    __slots__ = ("data", "duration", "filename", "started")

    def __init__(self, filename: str, data: bytes, duration: float) -> None:
        self.filename = filename
        self.data = data
        self.duration = duration
        self.started = time.monotonic()

    def progress(self) -> int:
        elapsed = time.monotonic() - self.started
        return 100 if elapsed >= self.duration else min(99, int(100 * elapsed / self.duration))


class StandinService:
    """The stand-in service on ``host:port`` (port 0: any free port), served
    by threads of the current process.

    :param work_seconds: How long a generation takes.
    :param slow_seconds: How long a ``slow`` generation takes.
    :param slow_search_seconds: How long a ``simulate:slow`` search takes.
    :param unavailable_models: Chat models answered with a 503.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        work_seconds: float = 0.3,
        slow_seconds: float = 5.0,
        slow_search_seconds: float = 0.3,
        unavailable_models: t.Sequence[str] = (),
    ) -> None:
        self.host = host
        self.work_seconds = work_seconds
        self.slow_seconds = slow_seconds
        self.slow_search_seconds = slow_search_seconds
        self.unavailable_models = list(unavailable_models)
        self.estimated_recovery: str | None = None
        #: How many times each file name was submitted for generation.
        self.submissions: collections.Counter[str] = collections.Counter()
        #: How many searches arrived.
        self.searches = 0
        self._lock = threading.Lock()
        self._jobs: dict[str, _Generation] = {}
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.service = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> StandinService:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release held requests and close the socket."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def __enter__(self) -> StandinService:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _submit(self, filename: str, data: bytes) -> str:
        duration = self.slow_seconds if "slow" in filename else self.work_seconds
        request_id = uuid.uuid4().hex
        with self._lock:
            self._jobs[request_id] = _Generation(filename, data, duration)
        return request_id

    def _count(self, filename: str) -> None:
        with self._lock:
            self.submissions[filename] += 1

    def _job(self, request_id: str) -> _Generation | None:
        with self._lock:
            return self._jobs.get(request_id)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    service: StandinService

    def server_bind(self) -> None:
        # Skip HTTPServer's reverse DNS lookup of the bound address.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ExampleStandin/1.0"
    timeout = 30

    @property
    def service(self) -> StandinService:
        return t.cast(_Server, self.server).service

    def log_message(self, format: str, *args: t.Any) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        status: int,
        payload: t.Any,
        *,
        headers: t.Mapping[str, str] | None = None,
        content_type: str = "application/json",
        drip: bool = False,
    ) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not drip:
            self.wfile.write(body)
            return
        self.close_connection = True
        try:
            # Never silent for long, yet the whole answer takes a while.
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.service._stopping.wait(DRIP_SECONDS)
        except OSError:  # the client gave up
            pass

    def _reset(self) -> None:
        """Close with SO_LINGER (on, 0 s): the client sees a TCP reset."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()

    def _hang(self) -> None:
        self.service._stopping.wait(MAX_HANG_SECONDS)
        self.close_connection = True

    def do_GET(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts == ["health"]:
            self._send(200, {"ok": True})
        elif len(parts) == 4 and parts[:2] == ["v1", "requests"]:
            self._request(parts[2], parts[3])
        else:
            self._send(404, {"message": "no such endpoint"})

    def do_POST(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        body = self._body()
        if path == "/v1/chat/completions":
            self._chat(body)
        elif path == "/v1/search":
            self._search(body)
        elif path == "/v1/generate":
            self._generate(body)
        else:
            self._send(404, {"message": "no such endpoint"})

    def _chat(self, body: bytes) -> None:
        try:
            payload = json.loads(body)
            prompt = str(payload["messages"][-1]["content"])
            model = str(payload["model"])
        except (ValueError, KeyError, IndexError, TypeError):
            self._send(400, {"message": "expected a chat completion request"})
            return
        service = self.service
        if model in service.unavailable_models:
            available = [m for m in chat_model.MODELS if m not in service.unavailable_models]
            self._send(
                503,
                {
                    "error": "models_unavailable",
                    "affected_models": list(service.unavailable_models),
                    "available_models": available,
                    "estimated_recovery": service.estimated_recovery,
                },
            )
        elif "simulate:error" in prompt:
            self._send(500, {"message": "model crashed"})
        elif "simulate:overload" in prompt:
            self._send(503, {"message": "overloaded"}, headers={"Retry-After": "30"})
        elif "simulate:rate-limit" in prompt:
            self._send(429, {"message": "slow down"}, headers={"Retry-After": "30"})
        elif "simulate:reset" in prompt:
            self._reset()
        elif "simulate:hang" in prompt:
            self._hang()
        else:
            self._send(200, chat_model.completion(payload), drip="simulate:drip" in prompt)

    def _search(self, body: bytes) -> None:
        with self.service._lock:
            self.service.searches += 1
        try:
            query = str(json.loads(body)["query"])
        except (ValueError, KeyError, TypeError):
            self._send(400, {"message": 'expected {"query": ...}'})
            return
        if "simulate:unavailable" in query:
            self._send(503, {"message": "Service temporarily unavailable"})
        elif "simulate:hang" in query:
            self._hang()
        else:
            if "simulate:slow" in query:
                self.service._stopping.wait(self.service.slow_search_seconds)
            results = {"results": chat_model.search(query)}
            self._send(200, results, drip="simulate:drip" in query)

    def _generate(self, body: bytes) -> None:
        filename = urllib.parse.unquote(self.headers.get("X-Filename", "image"))
        self.service._count(filename)
        if "fail" in filename:
            self._send(500, {"message": "generation failed"})
        elif "busy" in filename:
            self._send(429, {"message": "rate limited"}, headers={"Retry-After": "60"})
        elif "reset" in filename:
            self._reset()
        else:
            self._send(202, {"request_id": self.service._submit(filename, body)})

    def _request(self, request_id: str, what: str) -> None:
        job = self.service._job(request_id)
        if job is None:
            self._send(404, {"message": "unknown request"})
            return
        progress = job.progress()
        if what == "status":
            status = "COMPLETED" if progress >= 100 else "IN_PROGRESS"
            self._send(200, {"status": status, "progress": progress})
        elif what == "result" and progress < 100:
            self._send(409, {"message": "not completed"})
        elif what == "result" and "garbage" in job.filename:
            self._send(200, b"this is not a model", content_type="application/octet-stream")
        elif what == "result":
            self._send(200, glb(job.filename, job.data), content_type="model/gltf-binary")
        else:
            self._send(404, {"message": "no such endpoint"})


def main(argv: t.Sequence[str] | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--work-seconds", type=float, default=2.0)
    parser.add_argument("--unavailable", default="", help="comma-separated chat models")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    service = StandinService(
        host=args.host,
        port=args.port,
        work_seconds=args.work_seconds,
        unavailable_models=[m for m in args.unavailable.split(",") if m],
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with service:
        print(f"stand-in service on {service.url}", flush=True)
        try:
            # Wake up now and then: a parent killed with SIGKILL sends nothing.
            while not stop.wait(1.0):
                if args.parent_pid is not None and os.getppid() != args.parent_pid:
                    break
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
