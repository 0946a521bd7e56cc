"""OpenAPI for error bodies: JSON Schemas, components, documents, and an
apispec plugin.

- :func:`json_schema` is a self-contained JSON Schema (2020-12) of one
  built-in format's body, for validating responses in tests.
- :func:`components` gives OpenAPI ``components``: a schema per format, and
  a reusable response per catalog code (with its example body) plus a
  generic ``Error`` response per app or blueprint override.
- :func:`document` is a whole OpenAPI 3.1 document for an app: its routes,
  each operation with the error responses it can return (one per status:
  :func:`operation_codes`), and the components.
- :func:`documents` declares the codes a view can answer with.
- :class:`ApiErrorsPlugin` puts the same components into an
  :class:`apispec.APISpec` (flask-smorest, APIFlask ...), and points
  flask-smorest's default error responses at them.

Schemas avoid keywords that OpenAPI 3.0 lacks (no ``const``, no ``$defs``
in components), so the components also fit 3.0 documents.

.. versionadded:: 0.1
"""

from __future__ import annotations

from .operations import ErrorResponses
from .operations import documents
from .operations import operation_codes
from .paths import add_error_responses
from .paths import document
from .paths import openapi_path
from .paths import paths_for_app
from .paths import rule_answered
from .paths import rule_responses
from .paths import scope_of_rule
from .plugin import ApiErrorsPlugin
from .responses import ERROR_RESPONSE
from .responses import component_name
from .responses import components
from .responses import response_name
from .responses import scope_prefix
from .schemas import ERROR_DETAILS
from .schemas import FIELD_ERROR
from .schemas import JSON_SCHEMA_DIALECT
from .schemas import SCHEMA_NAMES
from .schemas import body_schema
from .schemas import details_schema
from .schemas import field_error_schema
from .schemas import json_schema

# Reading order, not sorted: the API reference lists members in ``__all__``
# order (autodoc's ``bysource``).
__all__ = [
    "SCHEMA_NAMES",
    "FIELD_ERROR",
    "ERROR_DETAILS",
    "ERROR_RESPONSE",
    "JSON_SCHEMA_DIALECT",
    "field_error_schema",
    "details_schema",
    "body_schema",
    "json_schema",
    "component_name",
    "response_name",
    "scope_prefix",
    "components",
    "openapi_path",
    "scope_of_rule",
    "rule_answered",
    "documents",
    "operation_codes",
    "ErrorResponses",
    "rule_responses",
    "paths_for_app",
    "add_error_responses",
    "document",
    "ApiErrorsPlugin",
]
