"""The error reference as JSON.

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import typing as t

from ..catalog import ErrorSpec
from ..catalog import reason_phrase
from ..state import Scope
from .bodies import correlation_id_paths
from .bodies import effective_status
from .bodies import examples
from .bodies import template_body
from .reference import Reference
from .reference import format_for
from .reference import format_name
from .reference import group_title


def to_json(reference: Reference) -> dict[str, t.Any]:
    """The reference as a JSON-ready ``dict``: formats, correlation id
    settings, groups and every code with its example bodies."""
    app = reference.app_scope
    return {
        "title": reference.title,
        "formats": [_scope_json(scope, reference) for scope in reference.scopes],
        "correlation_id": {
            "request_headers": list(app.settings.request_id_headers),
            "response_header": app.settings.response_id_header,
            "in_body": app.settings.include_correlation_id,
        },
        "groups": [
            {
                "group": group,
                "title": group_title(group),
                "codes": [spec.code for spec in specs],
            }
            for group, specs in reference.groups()
        ],
        "codes": [_spec_json(spec, reference) for spec in reference.specs()],
    }


def _scope_json(scope: Scope, reference: Reference) -> dict[str, t.Any]:
    formats = reference.formats
    return {
        "blueprint": scope.name,
        "url_prefix": scope.url_prefix,
        "format": format_name(scope),
        "media_type": format_for(scope, None, formats).media_type,
        "problem_on_accept": scope.settings.problem_on_accept,
        "correlation_id_paths": correlation_id_paths(scope, reference.catalog, formats),
        "example": template_body(scope, formats),
    }


def _spec_json(spec: ErrorSpec, reference: Reference) -> dict[str, t.Any]:
    status = effective_status(spec, reference.app_scope.settings)
    return {
        "code": spec.code,
        "status": status,
        "title": reason_phrase(status),
        "message": spec.message,
        "description": spec.description,
        "group": spec.group,
        "headers": list(spec.headers),
        "format": spec.format,
        "examples": [
            {"blueprints": [scope.name for scope in scopes], "body": body}
            for scopes, body in examples(spec, reference.scopes, reference.formats)
        ],
    }


def to_json_text(reference: Reference) -> str:
    """:func:`to_json` as indented JSON text."""
    return json.dumps(to_json(reference), indent=2, ensure_ascii=False) + "\n"
