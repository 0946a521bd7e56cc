"""The error reference as Markdown and reST: the response format, a section
per group and code, correlation ids and stream error events.

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import json
import typing as t

from ..catalog import ErrorSpec
from ..catalog import reason_phrase
from .bodies import TEMPLATE_SPEC
from .bodies import correlation_id_paths
from .bodies import display_code
from .bodies import effective_status
from .bodies import example_body
from .bodies import example_correlation_id
from .bodies import example_problem
from .bodies import examples
from .bodies import render
from .bodies import sse_frames
from .bodies import template_body
from .bodies import validation_body
from .reference import HEADER_DESCRIPTIONS
from .reference import Reference
from .reference import format_for
from .reference import group_title
from .reference import label
from .writers import _Markdown
from .writers import _md_to_rest
from .writers import _Rest
from .writers import _Writer


def to_markdown(reference: Reference) -> str:
    """The error reference as Markdown: response format, then a section per
    group and code, then correlation ids and stream error events."""
    return _write(_Markdown(), reference)


def to_rest(reference: Reference, *, title: bool = True) -> str:
    """The error reference as reStructuredText (for Sphinx).

    :param title: Start with the reference's title; without it, the
        sections start at the top level (to embed in a page with its own).
    """
    return _write(_Rest(), reference, title=title)


def _write(w: _Writer, reference: Reference, *, title: bool = True) -> str:
    top = 1 if title else 0
    if title:
        w.heading(reference.title, top)
    w.heading("Overview", top + 1)
    w.para(
        f"{reference.api_name} uses a consistent error response format across all"
        " its API endpoints. This reference documents every error code, its HTTP status, when it"
        " happens, and the body clients receive."
    )
    _write_formats(w, reference, top + 1)
    w.heading("Error Code Reference", top + 1)
    for group, specs in reference.groups():
        classes = "/".join(sorted({f"{spec.status // 100}xx" for spec in specs}))
        w.heading(f"{group_title(group)} ({classes})", top + 2)
        for spec in specs:
            _write_spec(w, spec, reference, top + 3)
    _write_correlation(w, reference, top + 1)
    _write_sse(w, reference, top + 1)
    return w.text()


def _write_formats(w: _Writer, reference: Reference, level: int) -> None:
    app = reference.app_scope
    w.heading("Error Response Format", level)
    w.para("All errors follow this standard format:")
    formats = reference.formats
    app_body = template_body(app, formats)
    w.code(_pretty(app_body), "json")
    for scope in reference.scopes[1:]:
        body = template_body(scope, formats)
        if body != app_body:
            w.para(f"Errors of {label(scope)} use this format:")
            w.code(_pretty(body), "json")
    own = sorted({spec.format for spec in reference.catalog if spec.format is not None})
    if own:
        w.para(
            "Some codes always answer in a format of their own ("
            + ", ".join(f"`{name}`" for name in own)
            + "); their examples below show it."
        )
    if app.settings.problem_on_accept:
        w.para(
            "A client that prefers `application/problem+json` in its `Accept` header"
            " receives RFC 9457 problem details instead:"
        )
        problem = example_problem(TEMPLATE_SPEC, app.settings)
        w.code(_pretty(render(format_for(app, name="problem"), problem)), "json")
    validation = validation_body(app, reference.catalog, formats)
    if validation is not None:
        w.heading("Validation Error Structure", level + 1)
        w.para(
            "For validation errors, `details.validation_errors` lists every field that failed,"
            " with its path (dots between nested names, brackets around list indexes), a"
            " message, and the submitted value (`null` when the field was missing; never the"
            " value of a credential):"
        )
        w.code(_pretty(validation), "json")


def _write_spec(w: _Writer, spec: ErrorSpec, reference: Reference, level: int) -> None:
    app = reference.app_scope
    w.heading(w.escape(display_code(spec, app, reference.formats)), level)
    status = effective_status(spec, app.settings)
    w.bullet(f"{w.strong('HTTP Status')}: {status} {reason_phrase(status)}")
    description = w.escape(" ".join((spec.description or spec.message).split()))
    w.bullet(f"{w.strong('Description')}: {description}")
    if spec.headers:
        w.bullet(f"{w.strong('Headers')}:")
        for name in spec.headers:
            about = HEADER_DESCRIPTIONS.get(name.lower())
            w.bullet(w.literal(name) + (f": {about}" if about else ""), indent=1)
    found = examples(spec, reference.scopes, reference.formats)
    for scopes, body in found:
        if len(found) == 1 or scopes[0] is app:
            w.bullet(f"{w.strong('Example')}:")
        else:
            where = ", ".join(_md_to_rest_if(w, label(scope)) for scope in scopes)
            w.bullet(f"{w.strong('Example')} ({where}):")
        w.code(_pretty(body), "json")


def _pretty(body: t.Any) -> str:
    # ``body`` is plain JSON data already (``render``): only the layout is
    # chosen here, for people to read.
    return json.dumps(body, indent=2, ensure_ascii=False)


def _md_to_rest_if(w: _Writer, text: str) -> str:
    return _md_to_rest(text) if isinstance(w, _Rest) else text


def _write_correlation(w: _Writer, reference: Reference, level: int) -> None:
    app = reference.app_scope
    settings = app.settings
    w.heading("Correlation IDs", level)
    incoming = " or ".join(f"`{name}`" for name in settings.request_id_headers)
    w.para(
        f"Every response carries a correlation id in its `{settings.response_id_header}`"
        f" header. A client may send its own in {incoming} (up to 128 letters, digits,"
        f" `.`, `_` or `-`); otherwise the server generates one like"
        f" `{example_correlation_id(settings)}`."
    )
    paths_of = [
        (scope, correlation_id_paths(scope, reference.catalog, reference.formats))
        for scope in reference.scopes
    ]
    app_paths = paths_of[0][1]
    others = [(scope, paths) for scope, paths in paths_of[1:] if paths != app_paths]
    if not any(paths for _, paths in paths_of):
        w.para("Error bodies do not repeat it: read the header.")
    else:
        if not others:
            w.para(f"Error bodies repeat it, in {_spell_paths(app_paths)}:")
        else:
            w.para("Error bodies repeat it:")
            if app_paths:
                w.bullet(_md_to_rest_if(w, f"by default, in {_spell_paths(app_paths)}"))
            for scope, paths in others:
                w.bullet(_md_to_rest_if(w, f"in errors of {label(scope)}: {_spell_paths(paths)}"))
            w.blank()
        spec = reference.catalog.get("internal_server_error")
        if spec is not None:
            w.code(_pretty(example_body(spec, app, reference.formats)), "json")
    w.para(
        "Use the correlation id when reporting a problem to support or searching logs."
        " A 500 body also carries an `error_id` that the server's log line shows next to"
        " the traceback."
    )


def _spell_paths(paths: t.Sequence[str]) -> str:
    if not paths:
        return "none (read the header)"
    spelled = " or ".join(f"`{path}`" for path in paths)
    return spelled + (", depending on the code" if len(paths) > 1 else "")


def _write_sse(w: _Writer, reference: Reference, level: int) -> None:
    w.heading("SSE Error Events", level)
    w.para(
        "For streaming endpoints, an error that happens after the stream has started is"
        " sent as an `error` event, with the same code, message and details as the HTTP"
        " body, followed by a `close` event; then the stream ends. An error before the"
        " first event is an ordinary error response."
    )
    spec = reference.catalog.get("internal_server_error") or next(iter(reference.specs()), None)
    if spec is None:
        return
    spec = dataclasses.replace(spec, example_details={})
    shown: list[str] = []
    for scope in reference.scopes:
        frames = sse_frames(spec, scope, reference.formats)
        if frames in shown:
            continue
        if scope is not reference.app_scope:
            w.para(f"In streams of {label(scope)}:")
        shown.append(frames)
        w.code(frames, "text")
