"""An app in maintenance mode switched at run time, for tests that serve it
through gunicorn with several workers (``tests.apps.availability_app:app``).

The shared state file comes from ``AVAILABILITY_APP_STATE_FILE``. ``PUT
/admin/maintenance`` switches maintenance on (``?minutes=N``), ``DELETE``
switches it off; ``/health`` and ``/admin/*`` always answer. Every answer
names the worker's PID, so a test can tell the workers apart.
``/overloaded``, ``/models`` and ``/storage`` raise the documented overload,
"AI models unavailable" and ``STORAGE_ERROR`` errors (the last in the first
documented API's format).
"""

from __future__ import annotations

import os
import typing as t

from flask import Flask
from flask import request

from flask_apierrors import ApiErrors
from flask_apierrors.availability import InsufficientStorageError
from flask_apierrors.availability import Maintenance
from flask_apierrors.availability import OverloadedError
from flask_apierrors.availability import UnavailableError


def create_app() -> Flask:
    app = Flask(__name__)
    errors = ApiErrors(
        app,
        maintenance_file=os.environ["AVAILABILITY_APP_STATE_FILE"],
        maintenance_exempt=("/health", "/admin/*"),
        maintenance_check_interval=0.0,
    )
    # The first documented API's code, in its format.
    errors.catalog.add("STORAGE_ERROR", 507, "Insufficient storage space", format="error_code")
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

    @app.get("/overloaded")
    def overloaded() -> str:
        raise OverloadedError(30, load_level="high")

    @app.get("/models")
    def models() -> str:
        raise UnavailableError(
            "AI models not available",
            details={
                "affected_models": ["Melanie-3", "Melanie-3-light"],
                "available_models": ["Melanie-3-code"],
                "estimated_recovery": "2023-12-01T10:15:00Z",
            },
        )

    @app.get("/storage")
    def storage() -> str:
        raise InsufficientStorageError(
            required=1048576, available=524288, error_code="STORAGE_ERROR"
        )

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
