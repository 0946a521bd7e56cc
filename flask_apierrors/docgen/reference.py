"""What the error reference is generated from: a :class:`Reference` (the
catalog plus one :class:`Scope` of settings for the app and for each
blueprint override), and the titles and descriptions it uses.

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import typing as t
from types import MappingProxyType

from ..catalog import GROUPS
from ..catalog import Catalog
from ..catalog import ErrorSpec
from ..config import Settings
from ..formats import Format
from ..formats import build_format

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


@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    """Where one set of settings applies: the whole app, or the requests a
    blueprint override covers.

    :param settings: The settings in effect there.
    :param blueprint: The overridden blueprint's name; ``None`` for the app.
    :param url_prefix: The URL prefix the override covers, if known.
    :param registry: Formats registered by name with
        :meth:`~flask_apierrors.ApiErrors.register_format`.
    """

    settings: Settings
    blueprint: str | None = None
    url_prefix: str | None = None
    registry: t.Mapping[str, Format] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )

    @property
    def label(self) -> str:
        """``"the app"`` or ``"blueprint `images`, under `/api/v1`"``."""
        if self.blueprint is None:
            return "the app"
        label = f"blueprint `{self.blueprint}`"
        if self.url_prefix:
            label += f", under `{self.url_prefix}`"
        return label

    def format_spec(self, spec: ErrorSpec | None = None) -> t.Any:
        """The configured format (name, object or callable) of ``spec`` here:
        the code's own format if it has one, else this scope's."""
        if spec is not None and spec.format is not None:
            return spec.format
        return self.settings.format

    def format_name(self, spec: ErrorSpec | None = None) -> str | None:
        """The name of the format ``spec`` renders in, or ``None`` for an
        unnamed format object or callable."""
        fmt = self.format_spec(spec)
        return fmt if isinstance(fmt, str) else None

    def format_for(self, spec: ErrorSpec | None = None) -> Format:
        """The :class:`~flask_apierrors.formats.Format` ``spec`` renders in
        here, built the way the error handlers build it."""
        return self._build(self.format_spec(spec))

    def problem_format(self) -> Format:
        """The ``problem`` format with this scope's settings (what a client
        preferring ``application/problem+json`` gets)."""
        return self._build("problem")

    def _build(self, fmt: t.Any) -> Format:
        return build_format(
            fmt,
            uppercase_codes=self.settings.uppercase_codes,
            problem_type_base=self.settings.problem_type_base,
            registry=self.registry,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Reference:
    """What the error reference is generated from.

    :param catalog: The error codes.
    :param scopes: The app's scope first, then one per blueprint override.
    :param title: The document's title.
    :param api_name: The API's name, used in the overview.
    """

    catalog: Catalog
    scopes: tuple[Scope, ...]
    title: str = "Error Codes and Responses"
    api_name: str = "The API"

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
        rv: list[tuple[str, list[ErrorSpec]]] = []
        for spec in self.specs():
            if not rv or rv[-1][0] != spec.group:
                rv.append((spec.group, []))
            rv[-1][1].append(spec)
        return rv


def reference_for_app(
    app: Flask, *, title: str | None = None, api_name: str | None = None
) -> Reference:
    """The :class:`Reference` of an app set up with
    :class:`~flask_apierrors.ApiErrors`: its catalog, its settings and one
    :class:`Scope` per blueprint override.

    :param app: The app (no app context needed).
    :param title: The document's title.
    :param api_name: The API's name; defaults to the app's name.
    :raises RuntimeError: ``ApiErrors`` is not set up on ``app``.
    """
    state = app.extensions.get("apierrors")
    if state is None:
        raise RuntimeError(
            "ApiErrors is not set up on this app: call ApiErrors(app) or"
            " errors.init_app(app) before generating its error reference."
        )
    ext = state.ext
    registry = MappingProxyType(dict(ext._registry))
    prefixes = {name: prefix for prefix, name in state._prefix_map()}
    scopes = [Scope(state.settings, registry=registry)]
    for name, override in ext._overrides.items():
        scopes.append(
            Scope(
                state.settings.merged(override.options),
                blueprint=name,
                url_prefix=override.url_prefix or prefixes.get(name),
                registry=registry,
            )
        )
    kwargs: dict[str, str] = {"api_name": api_name or app.name}
    if title is not None:
        kwargs["title"] = title
    return Reference(state.catalog, tuple(scopes), **kwargs)


def group_title(group: str) -> str:
    """``"rate_limiting"`` -> ``"Rate Limiting Errors"``."""
    return GROUP_TITLES.get(group) or group.replace("_", " ").title() + " Errors"
