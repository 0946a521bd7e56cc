"""Render a :class:`benchmarks.report.Report` as ``docs/benchmarks.rst``.

The analysis under "Where the time goes" is kept by hand in
``benchmarks/analysis.rst`` and copied into the page, so regenerating the
numbers never loses it.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from benchmarks.report import Report

ANALYSIS: t.Final = Path(__file__).with_name("analysis.rst")

INTRO: t.Final = """\
Benchmarks
==========

.. This page is generated: edit benchmarks/docs.py or benchmarks/analysis.rst,
   then run ``.venv/bin/python -m benchmarks.run --write-docs``.

How much does a JSON error cost? This page measures the error path of
flask-apierrors against what an API would use otherwise, on the same routes
and the same view code:

* **plain Flask (HTML)**: Werkzeug's HTML error pages, no error handling code;
* **hand-written jsonify**: the few ``@app.errorhandler`` functions returning
  ``jsonify(...)`` that users write by hand (no correlation id, no catalog,
  no field-level validation errors);
* **APIFlask** and **flask-smorest** with their default JSON errors and their
  own validation decorators;
* **flask-apierrors**: :class:`~flask_apierrors.ApiErrors` with its defaults
  (``error`` format, a correlation id on every response, the catalog's
  messages and details).

Every app has the same flask-limiter ``Limiter`` (memory storage) and the same
routes; the source is ``benchmarks/contenders.py`` (the requests:
``benchmarks/scenarios.py``).

Regenerate this page (about ten minutes, most of it the memory run and the
gunicorn part) from the root of a clone with::

    .venv/bin/python -m benchmarks.run --write-docs

``--quick`` runs fewer rounds, ``--no-gunicorn`` skips the part that starts
servers, ``--scenario NAME`` and ``--contender NAME`` narrow the run.

Method
------

The in-process parts call each WSGI app directly with a prepared environ (a
fresh body stream per call) and consume and close the response, as a WSGI
server would, so nothing but the app is timed. One *round* times a batch of
requests (about 20 ms) for every contender in turn; the order rotates from
round to round (A B C D E, then B C D E A ...). Each figure is the median over
the rounds, and each ratio is the median of the per-round ratios to the
hand-written handler, so noise from other processes falls on every contender
alike. Garbage collection is off while a batch runs (as :mod:`timeit` does).
The unhandled-exception scenario logs at ERROR to a
:class:`logging.NullHandler`, so records are created and filtered but not
written.
"""


#: Why a target is missed, by the start of its label (the analysis below
#: has the figures).
CAUSES: t.Final = {
    "unknown route": "the id, timestamp, catalog, format choice and log decision"
    " the hand-written handler does not do (about 100 Python calls)",
    "wrong method": "as for the 404, plus the allowed methods in the details",
    "error raised in a view": "as for the 404",
    "validation": "paths, echoed values, redaction, schema order and codes for"
    " each error; APIFlask and the hand-written handler send marshmallow's raw messages",
    "malformed JSON": "APIFlask answers from its own parser error without a catalog",
    "unhandled exception": "the error id shared by Flask's log line and the body"
    " (a signal receiver and a log filter)",
    "flask-limiter 429": "the breached limit's window and reset time, both bodies'"
    " numbers, a correct Retry-After, and the storage outage guard",
    "concurrent-limit 429": "the slot taken in the storage and its policy recorded,"
    " and the middleware that releases slots",
    "success path": "the correlation id on every response (one WSGI middleware) and"
    " the concurrency limiter's slot-releasing middleware",
    "through gunicorn, validation": "marshmallow's load of the invalid body,"
    " which a GET of the success path does not do",
    "through gunicorn, flask-limiter 429": "flask-limiter's own work on a breach"
    " (its hit and window read) and the 429's headers",
    "through gunicorn": "the error path's per-error work above, on a request that"
    " costs about half a millisecond end to end",
}


def _cause(what: str) -> str:
    return next((cause for start, cause in CAUSES.items() if what.startswith(start)), "")


def _targets(report: Report) -> str:
    lines = []
    for what, met, figure in report.verdicts():
        if met:
            lines.append(f"* met: {what} ({figure})")
        else:
            lines.append(f"* **missed**: {what} ({figure}); cause: {_cause(what)}")
    return "\n".join(lines)


def render(report: Report) -> str:
    """The whole page."""
    versions = "\n".join(f"* {name} {version}" for name, version in report.versions.items())
    parts = [
        INTRO,
        "Run\n---\n",
        f"* date: {report.date}\n* machine: {report.machine}\n"
        f"* rounds: {report.rounds} in-process rounds per scenario\n\n{versions}\n",
        "Error path, in process\n----------------------\n",
        "Median microseconds per request, the median per-round ratio to the hand-written"
        " handler in brackets, and the status each contender answers. APIFlask and"
        " flask-smorest answer validation errors with 422 by design; flask-apierrors follows"
        " the documented 400 (configurable).\n",
        report.scenario_table() + "\n",
    ]
    if report.overhead is not None:
        o = report.overhead
        parts += [
            "Success path\n------------\n",
            "The same app with and without :class:`~flask_apierrors.ApiErrors`, on a route"
            " that succeeds (every response carries the ``X-Request-ID`` header when it is"
            f" installed): {o.bare_us:.1f} us without, {o.installed_us:.1f} us with,"
            f" **{o.ratio:.3f}x** (median of {o.rounds} interleaved rounds).\n",
        ]
    if isinstance(report.scaling, list):
        parts += [
            "A 10,000-item invalid list\n--------------------------\n",
            "An order whose ``entries`` list has *n* invalid items (two errors each)."
            " marshmallow's own ``load`` is linear in the payload whatever renders the"
            " error. What flask-apierrors adds (the ``ValidationError`` turned into a body"
            " and a response) builds at most *cap* entries"
            " (``APIERRORS_MAX_VALIDATION_ERRORS``, 100 by default) and only counts the"
            " others, for ``total_errors``; the body stays the same size whatever the"
            " payload.\n",
            report.scaling_table() + "\n",
        ]
    if report.memory is not None:
        m = report.memory
        parts += [
            "Memory\n------\n",
            f"Traced memory (:mod:`tracemalloc`) after a warm-up, then after"
            f" {m.requests:,} error responses cycling through every error scenario above:"
            f" {m.baseline_kib:.0f} KiB, then {m.final_kib:.0f} KiB (growth"
            f" {m.growth_kib:.1f} KiB, peak {m.peak_kib:.0f} KiB). Nothing is kept per"
            " request.\n",
        ]
    if report.served:
        parts += [
            "Through gunicorn\n----------------\n",
            "gunicorn with 2 sync workers serving ``benchmarks.wsgi:app`` (the"
            f" flask-apierrors contender) on 127.0.0.1, load from {report.served_tool}, on"
            " the same two cores as the server, so these figures are lower bounds and"
            " mostly show the paths relative to each other. The 429 path is shown with"
            " flask-limiter's memory storage and with a local Redis.\n",
            report.served_table() + "\n",
        ]
    parts += ["Targets\n-------\n", _targets(report) + "\n"]
    if ANALYSIS.is_file():
        parts.append(ANALYSIS.read_text(encoding="utf-8").rstrip() + "\n")
    return "\n".join(parts)
