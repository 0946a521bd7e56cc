"""The :class:`~flask_apierrors.integrations.Context` the converter tests
(marshmallow, pydantic, the field errors they share) hand to a converter
outside a request."""

from __future__ import annotations

import typing as t

from flask_apierrors.catalog import Catalog
from flask_apierrors.config import Settings
from flask_apierrors.integrations import Context


def converter_context(**options: t.Any) -> Context:
    """A request's context outside a request: the built-in catalog and
    :class:`Settings` of ``options``."""
    return Context(
        catalog=Catalog.default(),
        settings=Settings(**options),
        correlation_id="req_1",
        timestamp="2023-12-01T10:00:00Z",
        instance="/x",
    )
