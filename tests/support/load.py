"""Client load for tests against a real server: bursts of requests from a
few threads, and a loop labelled by phases while a test breaks things.
Every loop is bounded in requests and in time, every answer must be JSON.
"""

from __future__ import annotations

import threading
import time
import typing as t
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests


class Result(t.NamedTuple):
    phase: str
    status: int
    headers: dict[str, str]
    body: t.Any
    elapsed: float


def unique_key(prefix: str) -> str:
    """A client key no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def get_json(session: requests.Session, url: str, client: str, phase: str = "") -> Result:
    """GET ``url`` as ``client`` (``X-Client``) on a new connection (so
    requests spread over the workers); the answer must be JSON."""
    started = time.monotonic()
    headers = {"X-Client": client, "Connection": "close"}
    response = session.get(url, headers=headers, timeout=10)
    elapsed = time.monotonic() - started
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    return Result(phase, response.status_code, dict(response.headers), response.json(), elapsed)


def burst(url: str, client: str, *, threads: int = 16, each: int = 25) -> list[Result]:
    """``threads`` clients each sending ``each`` requests at once."""

    def run(_: int) -> list[Result]:
        with requests.Session() as session:
            return [get_json(session, url, client) for _ in range(each)]

    with ThreadPoolExecutor(threads) as pool:
        return [result for batch in pool.map(run, range(threads)) for result in batch]


def wait_for(predicate: t.Callable[[], bool], timeout: float) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "condition never held"
        time.sleep(0.05)
    return time.monotonic() - started


class Load:
    """Clients requesting ``url`` in a loop, each result labelled with the
    phase of the test it ended in; at most ``max_requests`` requests and
    ``max_seconds`` seconds in all.

    Use as a context manager; set :attr:`phase` as the test goes on.
    """

    def __init__(
        self,
        url: str,
        client: str,
        *,
        threads: int = 4,
        max_requests: int = 20_000,
        max_seconds: float = 60.0,
    ) -> None:
        self.url = url
        self.client = client
        self.phase = "healthy"
        self.results: list[Result] = []
        self.failures: list[str] = []
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with requests.Session() as session:
            while not self._stop.is_set() and time.monotonic() < deadline:
                if len(self.results) + len(self.failures) >= self.max_requests:
                    return
                phase = self.phase
                try:
                    self.results.append(get_json(session, self.url, self.client, phase))
                except Exception as exc:  # an HTML page or a broken connection
                    self.failures.append(f"{phase}: {exc!r}")

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def in_phase(self, phase: str) -> list[Result]:
        return [r for r in self.results if r.phase == phase]

    def slowest(self, *phases: str) -> float:
        return max(r.elapsed for phase in phases for r in self.in_phase(phase))

    def counts(self) -> dict[str, dict[int, int]]:
        """Statuses per phase, in phase order."""
        found: dict[str, dict[int, int]] = {}
        for result in self.results:
            statuses = found.setdefault(result.phase, {})
            statuses[result.status] = statuses.get(result.status, 0) + 1
        return found
