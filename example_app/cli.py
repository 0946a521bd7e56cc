"""``flask --app example_app create-keys``: an admin key and a user key.

Maintenance mode has its own commands (``flask --app example_app maintenance
on|off|status``), from :class:`flask_apierrors.availability.Maintenance`.
"""

from __future__ import annotations

import contextlib

import click
from flask import current_app
from flask.cli import with_appcontext

from . import db
from .auth import create_key
from .limits import rate_limit_amount


@click.command("create-keys")
@with_appcontext
def create_keys_command() -> None:
    """Create an admin key and a user key, and print them (once only)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    rate_limit = rate_limit_amount(app.config["CHAT_RATE_LIMIT"])
    with contextlib.closing(db.connect(app)) as conn:
        admin, admin_id = create_key(conn, is_admin=True, rate_limit=rate_limit)
        user, user_id = create_key(conn, is_admin=False, rate_limit=rate_limit)
    click.echo(f"admin key: {admin}  (id {admin_id})")
    click.echo(f"user key:  {user}  (id {user_id})")
