"""The error reference, generated from the catalog: Markdown, reST and JSON.

Everything here is pure: a :class:`Reference` (the catalog, the app's
formats, and the settings of the app and of each blueprint override, as
:class:`~flask_apierrors.state.Scope` objects) goes in, text or a
JSON-ready ``dict`` comes out. Example bodies are rendered by the same
:class:`~flask_apierrors.formats.Format` objects the error handlers use, so
the reference shows exactly what clients receive.

::

    reference = reference_for_app(app)
    print(to_markdown(reference))

.. versionadded:: 0.1
"""

from __future__ import annotations

from .bodies import EXAMPLE_ID_SUFFIX
from .bodies import EXAMPLE_INSTANCE
from .bodies import EXAMPLE_TIMESTAMP
from .bodies import TEMPLATE_SPEC
from .bodies import correlation_id_paths
from .bodies import display_code
from .bodies import effective_status
from .bodies import example_body
from .bodies import example_correlation_id
from .bodies import example_problem
from .bodies import examples
from .bodies import path_of
from .bodies import render
from .bodies import sse_frames
from .bodies import template_body
from .bodies import validation_body
from .jsondoc import to_json
from .jsondoc import to_json_text
from .reference import GROUP_TITLES
from .reference import HEADER_DESCRIPTIONS
from .reference import Reference
from .reference import Scope as Scope
from .reference import format_for
from .reference import format_name
from .reference import format_spec
from .reference import group_title
from .reference import label
from .reference import reference_for_app
from .text import to_markdown
from .text import to_rest

# Reading order, not sorted: the API reference lists members in ``__all__``
# order (autodoc's ``bysource``).
__all__ = [
    "EXAMPLE_TIMESTAMP",
    "EXAMPLE_INSTANCE",
    "EXAMPLE_ID_SUFFIX",
    "GROUP_TITLES",
    "HEADER_DESCRIPTIONS",
    "Scope",
    "Reference",
    "reference_for_app",
    "label",
    "format_spec",
    "format_name",
    "format_for",
    "example_correlation_id",
    "effective_status",
    "example_problem",
    "render",
    "example_body",
    "examples",
    "TEMPLATE_SPEC",
    "template_body",
    "validation_body",
    "correlation_id_paths",
    "path_of",
    "display_code",
    "sse_frames",
    "to_json",
    "to_json_text",
    "group_title",
    "to_markdown",
    "to_rest",
]
