"""The error reference, generated from the catalog: Markdown, reST and JSON.

Everything here is pure: a :class:`Reference` (the catalog plus the
settings of the app and of each blueprint override) goes in, text or a
JSON-ready ``dict`` comes out. Example bodies are rendered by the same
:class:`~flask_apierrors.formats.Format` objects the error handlers use, so
the reference shows exactly what clients receive.

::

    reference = reference_for_app(app)
    print(to_markdown(reference))

.. versionadded:: 0.1
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
from types import MappingProxyType

from .catalog import GROUPS
from .catalog import Catalog
from .catalog import ErrorSpec
from .catalog import reason_phrase
from .config import Settings
from .formats import Format
from .formats import build_format
from .problem import FieldError
from .problem import Problem

if t.TYPE_CHECKING:
    from flask import Flask

#: The timestamp of every example body.
EXAMPLE_TIMESTAMP: t.Final = "2023-12-01T10:00:00Z"
#: The request path of every example body (the ``problem`` format's ``instance``).
EXAMPLE_INSTANCE: t.Final = "/v1/resource"
#: What follows the correlation id prefix in example bodies.
EXAMPLE_ID_SUFFIX: t.Final = "abc123"

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

# Where each built-in format puts the correlation id.
_CORRELATION_PATHS: t.Final = MappingProxyType(
    {
        "error": "correlation_id",
        "error_code": "correlation_id",
        "detail": "detail.correlation_id",
        "problem": "correlation_id",
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
        return build_format(
            self.format_spec(spec),
            uppercase_codes=self.settings.uppercase_codes,
            problem_type_base=self.settings.problem_type_base,
            registry=self.registry,
        )

    def problem_format(self) -> Format:
        """The ``problem`` format with this scope's settings (what a client
        preferring ``application/problem+json`` gets)."""
        return build_format(
            "problem",
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


# -- examples ----------------------------------------------------------------


def example_correlation_id(settings: Settings) -> str:
    """The correlation id shown in examples: the configured prefix plus
    ``abc123``."""
    return settings.request_id_prefix + EXAMPLE_ID_SUFFIX


def effective_status(spec: ErrorSpec, settings: Settings) -> int:
    """The status ``spec`` answers with under ``settings``: the catalog's,
    except for ``validation_error``, whose status is a setting."""
    if spec.code.lower() == "validation_error":
        return settings.validation_status
    return spec.status


def example_problem(spec: ErrorSpec, settings: Settings) -> Problem:
    """The :class:`Problem` of ``spec``'s documented example, with the
    values the settings put into real bodies (status of validation errors,
    support message, expected content types, correlation id)."""
    status = effective_status(spec, settings)
    details = dict(spec.example_details)
    if "support_message" in details:
        details["support_message"] = settings.support_message
    if "expected_types" in details:
        details["expected_types"] = list(settings.expected_content_types)
    return Problem(
        status=status,
        code=spec.code,
        message=spec.example_message or spec.message,
        title=reason_phrase(status),
        details=details,
        format=spec.format,
        correlation_id=example_correlation_id(settings)
        if settings.include_correlation_id
        else None,
        timestamp=EXAMPLE_TIMESTAMP,
        instance=path if isinstance(path := details.get("path"), str) else EXAMPLE_INSTANCE,
    )


def render(fmt: Format, problem: Problem) -> dict[str, t.Any]:
    """``fmt.render(problem)`` as a plain, JSON-ready ``dict``."""
    rendered: dict[str, t.Any] = json.loads(_dumps(fmt.render(problem)))
    return rendered


def example_body(spec: ErrorSpec, scope: Scope) -> dict[str, t.Any]:
    """The body a client gets for ``spec``'s example in ``scope``."""
    return render(scope.format_for(spec), example_problem(spec, scope.settings))


def examples(
    spec: ErrorSpec, scopes: t.Sequence[Scope]
) -> list[tuple[list[Scope], dict[str, t.Any]]]:
    """The distinct example bodies of ``spec`` across ``scopes``, each with
    the scopes that answer with it (the first one holds the first scope)."""
    rv: list[tuple[list[Scope], dict[str, t.Any]]] = []
    for scope in scopes:
        body = example_body(spec, scope)
        for seen, seen_body in rv:
            if seen_body == body:
                seen.append(scope)
                break
        else:
            rv.append(([scope], body))
    return rv


#: The placeholder error of the "response format" section.
TEMPLATE_SPEC: t.Final = ErrorSpec(
    "error_code",
    400,
    "Human-readable error message",
    example_details={"additional": "context-specific information"},
)


def template_body(scope: Scope) -> dict[str, t.Any]:
    """The generic body of a scope's format, with placeholder values, for
    the "response format" section."""
    return example_body(TEMPLATE_SPEC, scope)


def validation_body(scope: Scope, catalog: Catalog) -> dict[str, t.Any] | None:
    """The body of a validation error with two field errors, or ``None``
    when the catalog has no ``validation_error`` code."""
    spec = catalog.get("validation_error")
    if spec is None:
        return None
    problem = example_problem(spec, scope.settings).replace(
        details={},
        errors=(
            FieldError("messages", "At least one message is required", []),
            FieldError("model", "Invalid model type", "invalid-model"),
        ),
    )
    return render(scope.format_for(spec), problem)


_SENTINEL: t.Final = "cid-8f14e45fceea167a"


def _path_of(body: t.Any, value: str, prefix: str = "") -> str | None:
    if isinstance(body, dict):
        for key, item in body.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if item == value:
                return path
            found = _path_of(item, value, path)
            if found is not None:
                return found
    return None


def correlation_id_paths(scope: Scope, catalog: Catalog) -> list[str]:
    """Where the bodies of ``scope`` put the correlation id
    (``correlation_id``, ``detail.correlation_id`` ...), found by rendering
    every code; several paths when the format's shape depends on the code,
    none when bodies leave it out."""
    if not scope.settings.include_correlation_id:
        return []
    paths: list[str] = []
    for spec in (TEMPLATE_SPEC, *catalog):
        problem = example_problem(spec, scope.settings).replace(correlation_id=_SENTINEL)
        path = _path_of(render(scope.format_for(spec), problem), _SENTINEL)
        if path is not None and path not in paths:
            paths.append(path)
    return paths


def correlation_id_path(format_name: str | None) -> str | None:
    """Where a built-in format puts the correlation id (``detail.correlation_id``
    in the ``detail`` format), or ``None`` for other formats."""
    if format_name is None:
        return None
    return _CORRELATION_PATHS.get(format_name)


def display_code(spec: ErrorSpec, scope: Scope) -> str:
    """The code as the format of ``spec`` in ``scope`` spells it
    (``NOT_FOUND`` in the ``error_code`` format, ``not_found`` in ``error``)."""
    upper = getattr(scope.format_for(spec), "uppercase_codes", False)
    return spec.code.upper() if upper else spec.code


def sse_frames(spec: ErrorSpec, scope: Scope) -> str:
    """The ``event: error`` / ``event: close`` pair a stream ends with when
    ``spec`` happens after the response has started."""
    problem = example_problem(spec, scope.settings)
    data: dict[str, t.Any] = {"code": display_code(spec, scope), "message": problem.message}
    details = problem.public_details()
    if details:
        data["details"] = details
    if problem.correlation_id is not None:
        data["correlation_id"] = problem.correlation_id
    close = _dumps({"reason": "error"})
    return f"event: error\ndata: {_dumps(data)}\n\nevent: close\ndata: {close}\n\n"


# -- JSON ----------------------------------------------------------------------


def to_json(reference: Reference) -> dict[str, t.Any]:
    """The reference as a JSON-ready ``dict``: formats, correlation id
    settings, groups and every code with its example bodies."""
    app = reference.app_scope
    return {
        "title": reference.title,
        "formats": [_scope_json(scope, reference.catalog) for scope in reference.scopes],
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


def _scope_json(scope: Scope, catalog: Catalog) -> dict[str, t.Any]:
    fmt = scope.format_for()
    name = scope.format_name()
    return {
        "blueprint": scope.blueprint,
        "url_prefix": scope.url_prefix,
        "format": name,
        "media_type": fmt.media_type,
        "problem_on_accept": scope.settings.problem_on_accept,
        "correlation_id_paths": correlation_id_paths(scope, catalog),
        "example": template_body(scope),
    }


def _spec_json(spec: ErrorSpec, reference: Reference) -> dict[str, t.Any]:
    return {
        "code": spec.code,
        "status": effective_status(spec, reference.app_scope.settings),
        "title": reason_phrase(effective_status(spec, reference.app_scope.settings)),
        "message": spec.message,
        "description": spec.description,
        "group": spec.group,
        "headers": list(spec.headers),
        "format": spec.format,
        "examples": [
            {"blueprints": [scope.blueprint for scope in scopes], "body": body}
            for scopes, body in examples(spec, reference.scopes)
        ],
    }


def to_json_text(reference: Reference) -> str:
    """:func:`to_json` as indented JSON text."""
    return json.dumps(to_json(reference), indent=2, ensure_ascii=False) + "\n"


# -- text ----------------------------------------------------------------------


def group_title(group: str) -> str:
    """``"rate_limiting"`` -> ``"Rate Limiting Errors"``."""
    return GROUP_TITLES.get(group) or group.replace("_", " ").title() + " Errors"


def _status_classes(specs: t.Sequence[ErrorSpec]) -> str:
    classes = sorted({f"{spec.status // 100}xx" for spec in specs})
    return "/".join(classes)


def _dumps(value: t.Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=_json_default)


def _json_default(value: t.Any) -> t.Any:
    if isinstance(value, t.Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _Writer:
    """Builds the document; subclasses spell headings, code and lists."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"

    def para(self, text: str) -> None:
        self.lines.extend([text, ""])

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def heading(self, text: str, level: int) -> None:
        raise NotImplementedError

    def code(self, text: str, language: str) -> None:
        raise NotImplementedError

    def bullet(self, text: str, indent: int = 0) -> None:
        raise NotImplementedError

    def literal(self, text: str) -> str:
        raise NotImplementedError

    def strong(self, text: str) -> str:
        return f"**{text}**"

    def escape(self, text: str) -> str:
        """Catalog text (descriptions, codes) made safe for the markup."""
        return text


class _Markdown(_Writer):
    def __init__(self) -> None:
        super().__init__()
        self._tight = False

    def heading(self, text: str, level: int) -> None:
        self.blank()
        self.lines.append("#" * level + " " + text)
        self._tight = level >= 4
        if not self._tight:
            self.lines.append("")

    def code(self, text: str, language: str) -> None:
        # As the documented references lay it out: "- **Example**:" then the
        # fence, with no blank line between.
        if not (self.lines and self.lines[-1].startswith("- ")):
            self.blank()
        self.lines.extend([f"```{language}", *text.rstrip("\n").splitlines(), "```", ""])

    def bullet(self, text: str, indent: int = 0) -> None:
        self.lines.append("  " * indent + "- " + text)

    def para(self, text: str) -> None:
        # A code's heading is followed directly by its list.
        if self._tight:
            self.lines.append("")
        self._tight = False
        super().para(text)

    def literal(self, text: str) -> str:
        return f"`{text}`"


_REST_SPECIAL: t.Final = str.maketrans({c: "\\" + c for c in "\\*_`|[]<>"})


class _Rest(_Writer):
    _UNDERLINES = "=-~^\"'"

    def heading(self, text: str, level: int) -> None:
        self.blank()
        self.lines.extend([text, self._UNDERLINES[level - 1] * len(text), ""])

    def code(self, text: str, language: str) -> None:
        self.blank()
        self.lines.extend([f".. code-block:: {language}", ""])
        lines = text.rstrip("\n").splitlines()
        self.lines.extend(("   " + line) if line else "" for line in lines)
        self.lines.append("")

    def bullet(self, text: str, indent: int = 0) -> None:
        previous = self.lines[-1] if self.lines else ""
        previous_indent = len(previous) - len(previous.lstrip(" "))
        if previous and previous_indent != 2 * indent:
            # reST needs a blank line around a nested list.
            self.lines.append("")
        self.lines.append("  " * indent + "- " + text)

    def literal(self, text: str) -> str:
        return f"``{text}``"

    def escape(self, text: str) -> str:
        return text.translate(_REST_SPECIAL)

    def para(self, text: str) -> None:
        # Shared sentences spell literals Markdown-style: `code`.
        super().para(_md_to_rest(text))


def _md_to_rest(text: str) -> str:
    parts = text.split("`")
    return "".join(f"``{p}``" if i % 2 else p for i, p in enumerate(parts))


def to_markdown(reference: Reference) -> str:
    """The error reference as Markdown, laid out like the documented APIs'
    references: response format, then a section per group and code, then
    correlation ids and stream error events."""
    writer = _Markdown()
    _write(writer, reference)
    return writer.text()


def to_rest(reference: Reference, *, title: bool = True) -> str:
    """The error reference as reStructuredText (for Sphinx).

    :param title: Start with the reference's title; without it, the
        sections start at the top level (to embed in a page with its own).
    """
    writer = _Rest()
    _write(writer, reference, title=title)
    return writer.text()


def _write(w: _Writer, reference: Reference, *, title: bool = True) -> None:
    app = reference.app_scope
    top = 1
    if title:
        w.heading(reference.title, top)
    else:
        top = 0
    w.heading("Overview", top + 1)
    w.para(
        f"{reference.api_name} uses a consistent error response format across all"
        " endpoints. This reference documents every error code, its HTTP status, when it"
        " happens, and the body clients receive."
    )
    _write_formats(w, reference, top + 1)
    w.heading("Error Code Reference", top + 1)
    for group, specs in reference.groups():
        w.heading(f"{group_title(group)} ({_status_classes(specs)})", top + 2)
        for spec in specs:
            _write_spec(w, spec, reference, top + 3)
    _write_correlation(w, reference, top + 1)
    _write_sse(w, reference, app, top + 1)


def _write_formats(w: _Writer, reference: Reference, level: int) -> None:
    app = reference.app_scope
    w.heading("Error Response Format", level)
    w.para("All errors follow this standard format:")
    w.code(_dumps(template_body(app), indent=2), "json")
    for scope in reference.scopes[1:]:
        body = template_body(scope)
        if body != template_body(app):
            w.para(f"Errors of {scope.label} use this format:")
            w.code(_dumps(body, indent=2), "json")
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
        w.code(_dumps(render(app.problem_format(), problem), indent=2), "json")
    validation = validation_body(app, reference.catalog)
    if validation is not None:
        w.heading("Validation Error Structure", level + 1)
        w.para(
            "For validation errors, `details.validation_errors` lists every field that failed,"
            " with its path (dots between nested names, brackets around list indexes), a"
            " message, and the submitted value (`null` when the field was missing; never the"
            " value of a credential):"
        )
        w.code(_dumps(validation, indent=2), "json")


def _write_spec(w: _Writer, spec: ErrorSpec, reference: Reference, level: int) -> None:
    app = reference.app_scope
    w.heading(w.escape(display_code(spec, app)), level)
    status = effective_status(spec, app.settings)
    w.bullet(f"{w.strong('HTTP Status')}: {status} {reason_phrase(status)}")
    description = w.escape(_one_line(spec.description or spec.message))
    w.bullet(f"{w.strong('Description')}: {description}")
    if spec.headers:
        w.bullet(f"{w.strong('Headers')}:")
        for name in spec.headers:
            about = HEADER_DESCRIPTIONS.get(name.lower())
            w.bullet(w.literal(name) + (f": {about}" if about else ""), indent=1)
    found = examples(spec, reference.scopes)
    for scopes, body in found:
        if len(found) == 1 or scopes[0] is app:
            label = f"{w.strong('Example')}:"
        else:
            where = ", ".join(_rest_label(w, scope) for scope in scopes)
            label = f"{w.strong('Example')} ({where}):"
        w.bullet(label)
        w.code(_dumps(body, indent=2), "json")


def _rest_label(w: _Writer, scope: Scope) -> str:
    return _md_to_rest_if(w, scope.label)


def _md_to_rest_if(w: _Writer, text: str) -> str:
    return _md_to_rest(text) if isinstance(w, _Rest) else text


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
        (scope, correlation_id_paths(scope, reference.catalog)) for scope in reference.scopes
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
                w.bullet(_md_to_rest_if(w, f"in errors of {scope.label}: {_spell_paths(paths)}"))
            w.blank()
        spec = reference.catalog.get("internal_server_error")
        if spec is not None:
            w.code(_dumps(example_body(spec, app), indent=2), "json")
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


def _write_sse(w: _Writer, reference: Reference, app: Scope, level: int) -> None:
    w.heading("SSE Error Events", level)
    w.para(
        "For streaming endpoints, an error that happens after the stream has started is"
        " sent as an `error` event, with the same code, message and details as the HTTP"
        " body, followed by a `close` event; then the stream ends. An error before the"
        " first event is an ordinary error response."
    )
    spec = reference.catalog.get("internal_server_error")
    if spec is None:
        spec = next(iter(reference.specs()), None)
    if spec is None:
        return
    spec = dataclasses.replace(spec, example_details={})
    shown: list[str] = []
    for scope in reference.scopes:
        frames = sse_frames(spec, scope)
        if frames in shown:
            continue
        if scope is not app:
            w.para(f"In streams of {scope.label}:")
        shown.append(frames)
        w.code(frames, "text")
