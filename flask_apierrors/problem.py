"""Format-neutral error records.

A :class:`Problem` is what every source of error (a Werkzeug exception, an
:class:`~flask_apierrors.ApiError`, a marshmallow ``ValidationError``, a rate
limit ...) is turned into before a format renders it. It holds no Flask
objects and does no IO, so formats and docs can be tested without an app.
"""

from __future__ import annotations

import dataclasses
import typing as t
import urllib.parse


class _Missing:
    """Marker for "no value was submitted" (rendered as ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: The value of :attr:`FieldError.invalid_value` when the field was absent.
MISSING: t.Final = _Missing()


@dataclasses.dataclass(frozen=True, slots=True)
class FieldError:
    """One field that failed validation.

    :param field: Path of the field: dots between nested names, brackets
        around list indexes (``messages[0].content``).
    :param message: A sentence for the client.
    :param invalid_value: The submitted value, already redacted and
        truncated; :data:`MISSING` when the field was absent.
    :param location: Where the value came from (``json``, ``query``,
        ``form``, ``files``, ``headers`` ...), or ``None`` when only one
        location is involved.
    :param code: A machine code of the failure (``required``, ``too_long``,
        ``invalid_choice`` ...), rendered only with the
        ``field_error_codes`` setting on.
    :param source: Where the value came from, when ``location`` is left
        out (one location involved): never rendered in ``details``, it lets
        the ``problem`` format name a query parameter as ``parameter``
        rather than point into a JSON body.

    .. versionchanged:: 0.2
        Added ``code`` and ``source``.
    """

    field: str
    message: str
    invalid_value: t.Any = MISSING
    location: str | None = None
    code: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, t.Any]:
        """The documented ``{"field", "message", "invalid_value"}`` object (plus
        ``location`` when one is set)."""
        value = None if self.invalid_value is MISSING else self.invalid_value
        rv: dict[str, t.Any] = {
            "field": self.field,
            "message": self.message,
            "invalid_value": value,
        }
        if self.location is not None:
            rv["location"] = self.location
        if self.code is not None:
            rv["code"] = self.code
        return rv


@dataclasses.dataclass(frozen=True, slots=True)
class Problem:
    """An error, ready to be rendered by any format.

    :param status: HTTP status code.
    :param code: The stable machine code, as the catalog spells it
        (``not_found``, ``JOB_NOT_FOUND``).
    :param message: A sentence for the client.
    :param title: The HTTP reason phrase (``Not Found``).
    :param details: Extra context for the client; omitted when empty.
    :param errors: Field-level validation errors, rendered as
        ``details.validation_errors`` (and by the ``problem`` format as
        ``errors`` too).
    :param headers: Response headers the error must carry (``Allow``,
        ``Retry-After``, ``WWW-Authenticate`` ...).
    :param format: A format this error insists on (a legacy contract), or
        ``None`` to let the blueprint or app decide.
    :param correlation_id: The request's correlation id.
    :param timestamp: When the error happened, ISO 8601 UTC with ``Z``.
    :param instance: The request path, for the ``problem`` format.
    :param description: The raised exception's own text (Werkzeug's
        ``description``), kept so a legacy format can reproduce an old body
        word for word; the built-in formats never render it.
    :param extra: Members a format adds at the top level of the body (for
        example the ``problem`` format's extension members); rarely needed.
    :param problem_type: The ``problem`` format's ``type`` URI for this
        error, in place of the one the settings give the code (a rate-limit
        429 answers with the ``quota-exceeded`` type of
        draft-ietf-httpapi-ratelimit-headers).
    :param problem_members: Extension members only the ``problem`` format
        renders (``violated-policies``).

    .. versionchanged:: 0.2
        Added ``problem_type`` and ``problem_members``.
    """

    status: int
    code: str
    message: str
    title: str = ""
    details: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    errors: tuple[FieldError, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    format: str | None = None
    correlation_id: str | None = None
    timestamp: str | None = None
    instance: str | None = None
    description: str | None = None
    extra: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    problem_type: str | None = None
    problem_members: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)

    def public_details(self) -> dict[str, t.Any]:
        """``details`` with the field errors added as ``validation_errors``."""
        rv = dict(self.details)
        if self.errors:
            rv["validation_errors"] = [e.to_dict() for e in self.errors]
        return rv

    def replace(self, **changes: t.Any) -> Problem:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


def fill_type_template(template: str, code: str) -> str:
    """A ``problem_type_template`` with ``{code}`` filled in, URL-quoted:
    ``https://example.com/errors/{code}`` -> ``https://example.com/errors/not_found``."""
    return template.format(code=urllib.parse.quote(code, safe=""))


def check_type_template(template: str | None) -> None:
    """Raise ValueError unless ``template`` is ``None`` or a text that
    formats with ``{code}`` alone (``https://example.com/errors/{code}``)."""
    if template is None:
        return
    try:
        filled = template.format(code="x")
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"problem_type_template {template!r} cannot be formatted ({exc!r}): use {{code}}"
            " and no other field."
        ) from None
    if filled == template:
        raise ValueError(f"problem_type_template {template!r} has no {{code}} field.")
