"""The WSGI entry point: ``gunicorn example_app.wsgi:app``.

Each gunicorn worker imports this module and creates its own app (no
``preload_app``), so database connections and background threads are never
shared across a fork.
"""

from __future__ import annotations

from . import create_app

app = create_app()
