"""Body formats: a :class:`Problem` in, a JSON-ready ``dict`` out.

Built-in formats reproduce the documented bodies exactly:

``error``
    ``{"error": code, "message", "details", "timestamp", "correlation_id"}``
``error_code``
    ``{"error": true, "error_code": CODE, "message", "details", "correlation_id"}``
``detail``
    ``{"detail": {"code": CODE, "message", "details", "correlation_id"}}``
``problem``
    RFC 9457 ``application/problem+json``: ``type``, ``title``, ``status``,
    ``detail``, ``instance``, plus ``code``, ``details``, ``correlation_id``
    and ``timestamp`` as extension members, and ``errors`` (one entry per
    field error: ``detail`` and a JSON Pointer ``pointer``, or the
    ``parameter`` or ``header`` it is about) when fields failed validation.

``details`` is left out when empty. Formats do no IO and use no Flask
globals.
"""

from __future__ import annotations

import typing as t

from .fieldpath import pointer_of
from .problem import FieldError
from .problem import Problem
from .problem import check_type_template
from .problem import fill_type_template

if t.TYPE_CHECKING:
    from .config import Settings

JSON: t.Final = "application/json"
PROBLEM_JSON: t.Final = "application/problem+json"

#: Where a field error's value came from -> the member of its ``errors``
#: entry in the ``problem`` format that names it (RFC 9457 section 3's
#: example: ``pointer`` into a JSON body); any other location: ``parameter``.
LOCATION_MEMBERS: t.Final[t.Mapping[str | None, str]] = {
    None: "pointer",
    "json": "pointer",
    "body": "pointer",
    "headers": "header",
    "header": "header",
}


@t.runtime_checkable
class Format(t.Protocol):
    """What a body format provides.

    A plain callable ``(Problem) -> Mapping`` is accepted wherever a format
    is, and rendered as ``application/json``.
    """

    #: The response's ``Content-Type``.
    media_type: str

    def render(self, problem: Problem) -> t.Mapping[str, t.Any]:
        """The body for ``problem``."""
        ...


def _body(body: dict[str, t.Any], problem: Problem, timestamp: bool = False) -> dict[str, t.Any]:
    """``body`` (code and message) completed: ``details`` when any, the
    ``timestamp`` if asked, ``correlation_id`` when set, then ``extra``."""
    details = problem.public_details()
    if details:
        body["details"] = details
    if timestamp:
        body["timestamp"] = problem.timestamp
    if problem.correlation_id is not None:
        body["correlation_id"] = problem.correlation_id
    body.update(problem.extra)
    return body


class ErrorFormat:
    """The ``{"error": code, "message", ...}`` body."""

    media_type = JSON

    def __init__(self, *, uppercase_codes: bool = False) -> None:
        self.uppercase_codes = uppercase_codes

    def render(self, problem: Problem) -> dict[str, t.Any]:
        code = problem.code.upper() if self.uppercase_codes else problem.code
        return _body({"error": code, "message": problem.message}, problem, timestamp=True)


class ErrorCodeFormat:
    """The ``{"error": true, "error_code": CODE, ...}`` body."""

    media_type = JSON

    def __init__(self, *, uppercase_codes: bool = True) -> None:
        self.uppercase_codes = uppercase_codes

    def render(self, problem: Problem) -> dict[str, t.Any]:
        code = problem.code.upper() if self.uppercase_codes else problem.code
        return _body({"error": True, "error_code": code, "message": problem.message}, problem)


class DetailFormat:
    """The ``{"detail": {"code": CODE, ...}}`` body (FastAPI-style)."""

    media_type = JSON

    def __init__(self, *, uppercase_codes: bool = True) -> None:
        self.uppercase_codes = uppercase_codes

    def render(self, problem: Problem) -> dict[str, t.Any]:
        code = problem.code.upper() if self.uppercase_codes else problem.code
        return {"detail": _body({"code": code, "message": problem.message}, problem)}


def field_error_entry(error: FieldError, schema_error_field: str = "_schema") -> dict[str, t.Any]:
    """One entry of the ``problem`` format's ``errors``: ``detail``, then
    ``pointer`` (an RFC 6901 JSON Pointer into the JSON body: ``""`` for an
    error about the whole body), ``header`` or ``parameter`` (the field as
    named in the query string, form ...), and ``code`` when set."""
    entry: dict[str, t.Any] = {"detail": error.message}
    member = LOCATION_MEMBERS.get(error.location or error.source, "parameter")
    if member == "pointer":
        entry["pointer"] = "" if error.field == schema_error_field else pointer_of(error.field)
    else:
        entry[member] = error.field
    if error.code is not None:
        entry["code"] = error.code
    return entry


class ProblemFormat:
    """RFC 9457 problem details.

    :param type_base: ``type`` is this base URI plus the code.
    :param type_template: ``type`` is this template with ``{code}`` filled
        in (the code URL-quoted); wins over ``type_base``. Neither:
        ``about:blank``. A problem's own ``problem_type`` wins over both.
    :param uppercase_codes: Spell codes upper case.
    :param schema_error_field: The ``field`` of errors about the whole
        body: their ``pointer`` is ``""``.

    .. versionchanged:: 0.2
        ``type_template``, ``schema_error_field``; the ``errors`` member.
    """

    media_type = PROBLEM_JSON

    def __init__(
        self,
        *,
        type_base: str | None = None,
        uppercase_codes: bool = False,
        type_template: str | None = None,
        schema_error_field: str = "_schema",
    ) -> None:
        check_type_template(type_template)
        self.type_base = type_base
        self.type_template = type_template
        self.uppercase_codes = uppercase_codes
        self.schema_error_field = schema_error_field

    def type_of(self, problem: Problem, code: str) -> str:
        """The ``type`` URI of ``problem`` (its code spelled ``code``)."""
        if problem.problem_type:
            return problem.problem_type
        if self.type_template:
            return fill_type_template(self.type_template, code)
        return f"{self.type_base}{code}" if self.type_base else "about:blank"

    def render(self, problem: Problem) -> dict[str, t.Any]:
        code = problem.code.upper() if self.uppercase_codes else problem.code
        body: dict[str, t.Any] = {
            "type": self.type_of(problem, code),
            "title": problem.title,
            "status": problem.status,
            "detail": problem.message,
        }
        if problem.instance is not None:
            body["instance"] = problem.instance
        body["code"] = code
        details = problem.public_details()
        if details:
            body["details"] = details
        if problem.errors:
            body["errors"] = [field_error_entry(e, self.schema_error_field) for e in problem.errors]
        if problem.correlation_id is not None:
            body["correlation_id"] = problem.correlation_id
        body["timestamp"] = problem.timestamp
        body.update(problem.extra)
        body.update(problem.problem_members)
        return body


class CallableFormat:
    """Adapts a ``(Problem) -> Mapping`` callable to :class:`Format`."""

    def __init__(
        self, func: t.Callable[[Problem], t.Mapping[str, t.Any]], media_type: str = JSON
    ) -> None:
        self.func = func
        self.media_type = media_type

    def render(self, problem: Problem) -> t.Mapping[str, t.Any]:
        return self.func(problem)


#: Names of the built-in formats.
BUILTIN: t.Final = ("error", "error_code", "detail", "problem")


def format_options(settings: Settings) -> dict[str, t.Any]:
    """The options of :func:`build_format` that ``settings`` give."""
    return {
        "uppercase_codes": settings.uppercase_codes,
        "problem_type_base": settings.problem_type_base,
        "problem_type_template": settings.problem_type_template,
        "schema_error_field": settings.schema_error_field,
    }


def build_format(
    spec: t.Any,
    *,
    uppercase_codes: bool | None = None,
    problem_type_base: str | None = None,
    registry: t.Mapping[str, Format] | None = None,
    problem_type_template: str | None = None,
    schema_error_field: str = "_schema",
) -> Format:
    """Turn a format name, :class:`Format` or callable into a :class:`Format`.

    :param spec: What the user configured.
    :param uppercase_codes: Force upper- or lower-case codes; ``None`` keeps
        each format's own default.
    :param problem_type_base: ``type`` base URI of the ``problem`` format.
    :param registry: User formats registered by name.
    :param problem_type_template: ``type`` template of the ``problem``
        format (``https://example.com/errors/{code}``).
    :param schema_error_field: The field of errors about the whole body.
    :raises ValueError: ``spec`` names no known format.
    """
    if isinstance(spec, str):
        if registry is not None and spec in registry:
            return registry[spec]
        if spec == "error":
            return ErrorFormat(uppercase_codes=bool(uppercase_codes))
        if spec == "error_code":
            return ErrorCodeFormat(uppercase_codes=uppercase_codes is not False)
        if spec == "detail":
            return DetailFormat(uppercase_codes=uppercase_codes is not False)
        if spec == "problem":
            return ProblemFormat(
                type_base=problem_type_base,
                uppercase_codes=bool(uppercase_codes),
                type_template=problem_type_template,
                schema_error_field=schema_error_field,
            )
        known = [*BUILTIN, *(registry or {})]
        raise ValueError(f"Unknown error format {spec!r}. Use one of {known} or a callable.")
    if isinstance(spec, type):
        # format=ProblemFormat: callable, but every error would be a 500.
        raise TypeError(f"An error format is an instance: use {spec.__name__}(), not the class.")
    if isinstance(spec, Format):
        return spec
    if callable(spec):
        return CallableFormat(spec)
    raise TypeError(
        f"An error format must be a name, a Format or a callable, not {type(spec).__name__}."
    )
