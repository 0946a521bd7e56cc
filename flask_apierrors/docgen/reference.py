"""What the error reference is generated from: a :class:`Reference` (the
catalog plus one :class:`~flask_apierrors.state.Scope` of settings for the
app and for each blueprint override, as the app's state has them), the
format each code renders in, and the titles and descriptions it uses.

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import itertools
import typing as t
from types import MappingProxyType

from ..catalog import GROUPS
from ..catalog import Catalog
from ..catalog import ErrorSpec
from ..config import Settings
from ..formats import Format
from ..formats import build_format
from ..formats import format_options
from ..state import Scope as Scope
from ..state import find_state

if t.TYPE_CHECKING:
    from flask import Flask

#: Section titles of the catalog groups.
GROUP_TITLES: t.Final[t.Mapping[str, str]] = MappingProxyType(
    {
        "authentication": "Authentication Errors",
        "validation": "Validation Errors",
        "resource": "Resource Errors",
        "rate_limiting": "Rate Limiting Errors",
        "processing": "Processing Errors",
        "upstream": "Upstream Errors",
        "availability": "Availability Errors",
        "http": "Other HTTP Errors",
        "custom": "Custom Application Errors",
    }
)

#: What the reference says about the headers an error can carry.
HEADER_DESCRIPTIONS: t.Final[t.Mapping[str, str]] = MappingProxyType(
    {
        "allow": "Methods the resource supports",
        "retry-after": "Seconds to wait before retrying",
        "www-authenticate": "How to authenticate",
        "x-ratelimit-limit": "Request limit",
        "x-ratelimit-remaining": "Remaining requests",
        "x-ratelimit-reset": "Reset timestamp",
        "ratelimit": "Current rate limit state (IETF draft)",
        "ratelimit-policy": "Rate limit policy (IETF draft)",
    }
)


def label(scope: Scope) -> str:
    """``"the app"`` or ``"blueprint `images`, under `/api/v1`"``."""
    if scope.name is None:
        return "the app"
    text = f"blueprint `{scope.name}`"
    if scope.url_prefix:
        text += f", under `{scope.url_prefix}`"
    return text


def format_spec(scope: Scope, spec: ErrorSpec | None = None) -> t.Any:
    """The configured format (name, object or callable) of ``spec`` in
    ``scope``: the code's own format if it has one, else the scope's."""
    if spec is not None and spec.format is not None:
        return spec.format
    return scope.settings.format


def format_name(scope: Scope, spec: ErrorSpec | None = None) -> str | None:
    """The name of the format ``spec`` renders in, or ``None`` for an
    unnamed format object or callable."""
    fmt = format_spec(scope, spec)
    return fmt if isinstance(fmt, str) else None


def format_for(
    scope: Scope,
    spec: ErrorSpec | None = None,
    formats: t.Mapping[str, Format] | None = None,
    *,
    name: t.Any = None,
) -> Format:
    """The :class:`~flask_apierrors.formats.Format` ``spec`` renders in
    (``name``: that format instead) in ``scope``, built as the error
    handlers build it.

    :param formats: The formats registered by name (:attr:`Reference.formats`).
    """
    spec_or_name = name if name is not None else format_spec(scope, spec)
    return build_format(spec_or_name, registry=formats, **format_options(scope.settings))


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    """What the error reference is generated from.

    :param catalog: The error codes.
    :param scopes: The app's scope first, then one per blueprint override
        (:meth:`AppState.scopes() <flask_apierrors.state.AppState.scopes>`).
    :param title: The document's title.
    :param api_name: The API's name, used in the overview.
    :param formats: The formats the app registered by name.
    """

    catalog: Catalog
    scopes: tuple[Scope, ...]
    title: str = "Error Codes and Responses"
    api_name: str = "The API"
    formats: t.Mapping[str, Format] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        if not self.scopes:
            raise ValueError("A Reference needs at least the app's Scope.")

    @classmethod
    def from_settings(
        cls,
        catalog: Catalog | None = None,
        settings: Settings | None = None,
        **kwargs: t.Any,
    ) -> Reference:
        """A reference of one scope: ``catalog`` (default: the built-in
        codes) rendered with ``settings`` (default: the defaults)."""
        return cls(
            catalog if catalog is not None else Catalog.default(),
            (Scope(settings if settings is not None else Settings()),),
            **kwargs,
        )

    @property
    def app_scope(self) -> Scope:
        """The scope of the whole app."""
        return self.scopes[0]

    def specs(self) -> list[ErrorSpec]:
        """Every spec, ordered by group (:data:`~flask_apierrors.catalog.GROUPS`
        order, unknown groups last), then status, then catalog order."""
        order = {group: i for i, group in enumerate(GROUPS)}
        return sorted(self.catalog, key=lambda s: (order.get(s.group, len(order)), s.status))

    def groups(self) -> list[tuple[str, list[ErrorSpec]]]:
        """``(group, specs)`` pairs of the non-empty groups, in order."""
        by_group = itertools.groupby(self.specs(), key=lambda spec: spec.group)
        return [(group, list(specs)) for group, specs in by_group]


def reference_for_app(
    app: Flask, *, title: str | None = None, api_name: str | None = None
) -> Reference:
    """The :class:`Reference` of an app set up with
    :class:`~flask_apierrors.ApiErrors`: its catalog, its formats and its
    scopes (the app's, then one per blueprint override where ApiErrors is
    on: a blueprint turned off with ``enabled=False`` answers its own errors).

    :param app: The app (no app context needed).
    :param title: The document's title.
    :param api_name: The API's name; defaults to the app's name.
    :raises RuntimeError: ``ApiErrors`` is not set up on ``app``.
    """
    state = find_state(app)
    if state is None:
        raise RuntimeError(
            "ApiErrors is not set up on this app: call ApiErrors(app) or"
            " errors.init_app(app) before generating its error reference."
        )
    kwargs: dict[str, str] = {"api_name": api_name or app.name}
    if title is not None:
        kwargs["title"] = title
    formats = MappingProxyType(dict(state.formats))
    app_scope, *blueprints = state.scopes()
    scopes = (app_scope, *(scope for scope in blueprints if scope.settings.enabled))
    return Reference(state.catalog, scopes, formats=formats, **kwargs)


def group_title(group: str) -> str:
    """``"rate_limiting"`` -> ``"Rate Limiting Errors"``."""
    return GROUP_TITLES.get(group) or group.replace("_", " ").title() + " Errors"
