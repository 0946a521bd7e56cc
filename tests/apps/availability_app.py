"""An app in maintenance mode switched at run time, for tests that serve it
through gunicorn with several workers (``tests.apps.availability_app:app``).

The shared state file comes from ``AVAILABILITY_APP_STATE_FILE``. ``PUT
/admin/maintenance`` switches maintenance on (``?minutes=N``), ``DELETE``
switches it off; ``/health`` and ``/admin/*`` always answer. Every answer
names the worker's PID, so a test can tell the workers apart.
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask import request

from flask_apierrors import ApiErrors
from flask_apierrors.availability import Maintenance


def create_app() -> Flask:
    app = Flask(__name__)
    ApiErrors(
        app,
        maintenance_file=os.environ["AVAILABILITY_APP_STATE_FILE"],
        maintenance_exempt=("/health", "/admin/*"),
        maintenance_check_interval=0.0,
    )
    maintenance = Maintenance(app)

    @app.after_request
    def name_worker(response: t.Any) -> t.Any:
        response.headers["X-Worker-PID"] = str(os.getpid())
        return response

    @app.get("/health")
    def health() -> dict[str, t.Any]:
        return {"status": "ok", "maintenance": maintenance.is_active()}

    @app.get("/work")
    def work() -> dict[str, t.Any]:
        return {"done": True}

    @app.put("/admin/maintenance")
    def maintenance_on() -> dict[str, t.Any]:
        state = maintenance.enable(duration=float(request.args.get("minutes", "60")) * 60)
        return state.to_json()

    @app.delete("/admin/maintenance")
    def maintenance_off() -> dict[str, t.Any]:
        maintenance.disable()
        return {"enabled": maintenance.is_active()}

    return app


app = create_app()
