"""A ``unittest`` suite, as existing apps have them: ``setUp`` builds the
app with a factory and pushes an app context that every request of the
test then shares (one ``g``). Ids and logging stay per request."""

from __future__ import annotations

import logging
import typing as t
import unittest

from flask import Flask
from flask import abort

from flask_apierrors import ApiErrors


def create_app() -> Flask:
    app = Flask("unittest_app")
    ApiErrors(app)

    @app.get("/missing")
    def missing() -> t.NoReturn:
        abort(404)

    @app.get("/crash")
    def crash() -> t.NoReturn:
        raise RuntimeError("boom")

    @app.get("/abort-500")
    def abort_500() -> t.NoReturn:
        abort(500)

    return app


class ErrorsInOneAppContext(unittest.TestCase):
    def setUp(self) -> None:
        self.app = create_app()
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.client = self.app.test_client()

    def tearDown(self) -> None:
        self.ctx.pop()

    def get(self, path: str) -> t.Any:
        """``path``'s response; a 500 must have been logged, a 404 not."""
        check = self.assertNoLogs if path == "/missing" else self.assertLogs
        with check(self.app.logger, logging.ERROR):
            return self.client.get(path)

    def test_each_body_has_its_requests_correlation_id(self) -> None:
        responses = [self.get(path) for path in ("/missing", "/crash", "/missing", "/abort-500")]
        ids = []
        for response in responses:
            body = response.get_json()
            self.assertEqual(body["correlation_id"], response.headers["X-Request-ID"])
            ids.append(body["correlation_id"])
        self.assertEqual(len(set(ids)), len(ids))

    def test_each_500_has_its_own_error_id(self) -> None:
        first = self.get("/crash").get_json()["details"]["error_id"]
        second = self.get("/crash").get_json()["details"]["error_id"]
        third = self.get("/abort-500").get_json()["details"]["error_id"]
        self.assertEqual(len({first, second, third}), 3)

    def test_a_later_abort_500_is_logged(self) -> None:
        self.get("/crash")
        with self.assertLogs(self.app.logger, logging.ERROR) as logs:
            response = self.client.get("/abort-500")
        error_id = response.get_json()["details"]["error_id"]
        [line] = logs.output
        self.assertIn(f"error_id={error_id}", line)
        self.assertIn(response.headers["X-Request-ID"], line)

    def test_a_client_error_logs_nothing(self) -> None:
        self.get("/crash")
        with self.assertNoLogs(self.app.logger, logging.ERROR):
            self.client.get("/missing")
