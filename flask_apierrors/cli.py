"""``flask apierrors``: command-line access to the error reference.

::

    flask --app example_app apierrors docs > ERRORS.md
    flask --app example_app apierrors docs --format json --output errors.json

The group is registered on every app :class:`~flask_apierrors.ApiErrors` is
set up on; it only wires :mod:`flask_apierrors.docgen` to the command line.

.. versionadded:: 0.1
"""

from __future__ import annotations

import typing as t

import click
from flask import current_app
from flask.cli import AppGroup

from . import docgen
from .plugins import Plugin

#: Output formats of ``flask apierrors docs``.
DOC_FORMATS: t.Final = ("markdown", "json", "rst")

apierrors_cli = AppGroup("apierrors", help="Error reference of this app's API.")


@apierrors_cli.command("docs")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(DOC_FORMATS),
    default="markdown",
    show_default=True,
    help="Markdown or reST reference, or the catalog as JSON.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    default="-",
    help="Write to this file instead of standard output.",
)
@click.option("--title", default=None, help="Title of the reference.")
def docs_command(output_format: str, output: str, title: str | None) -> None:
    """Write the app's error reference: every error code grouped by class,
    with its status, description and the example body clients receive."""
    write = {"markdown": docgen.to_markdown, "json": docgen.to_json_text, "rst": docgen.to_rest}
    try:
        reference = docgen.reference_for_app(current_app, title=title)
        text = write[output_format](reference)
    except (RuntimeError, ValueError, TypeError) as exc:
        # ApiErrors not set up, or a format that cannot render (a misspelt
        # name): the configuration's message, not a traceback.
        raise click.ClickException(f"Cannot write the error reference: {exc}") from exc
    try:
        with click.open_file(output, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise click.ClickException(
            f"Cannot write the error reference to {output!r}: {why}"
        ) from exc
    if output != "-":
        count = len(reference.catalog)
        click.echo(f"Wrote the error reference ({count} codes) to {output}.", err=True)


def plugin() -> Plugin:
    """The entry point: adds ``flask apierrors`` to every app set up."""
    return Plugin("cli", setup=lambda state: state.app.cli.add_command(apierrors_cli))
