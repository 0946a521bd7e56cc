"""Configuration: every ``APIERRORS_*`` key, its default, and the frozen
:class:`Settings` read from them once per app.

Each key has a keyword twin on :class:`~flask_apierrors.ApiErrors` with the
same name in lower case (``APIERRORS_FORMAT`` and ``format=``). Precedence,
most specific first: a catalog code's own format, a blueprint override, the
keyword argument, ``app.config``, the default. Settings are read when
``init_app`` runs; later changes to ``app.config`` are ignored.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import typing as t

from .configvalues import PREFIX as PREFIX
from .configvalues import config_key as config_key
from .configvalues import invalid as invalid
from .configvalues import parse_bool as parse_bool
from .configvalues import read_values
from .problem import check_type_template

if t.TYPE_CHECKING:
    from flask import Flask

_T = t.TypeVar("_T")

#: Names whose values are never echoed in a validation error. A field name
#: matches when some run of its words (snake, kebab or camel case), joined,
#: is one of these (written in any case), unless the next word makes it a
#: measure (``token_count``, ``session_length``): see the validation docs.
DEFAULT_REDACT_FIELDS: t.Final = (
    # passwords
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "passcode",
    # keys, tokens, secrets
    "secret",
    "secrets",
    "token",
    "api_key",
    "access_key",
    "private_key",
    "signing_key",
    "encryption_key",
    "jwt",
    "bearer",
    "authorization",
    "auth",
    "credential",
    "credentials",
    "otp",
    "totp",
    "pin",
    "csrf",
    "xsrf",
    # sessions
    "session",
    "sessions",
    "sessionid",
    "cookie",
    "cookies",
    # payment and identity numbers
    "card_number",
    "cvv",
    "cvc",
    "iban",
    "ssn",
    "social_security_number",
)


#: The metadata of a setting that holds for the whole app only (it is read
#: before the request's blueprint is known, or by app-wide machinery):
#: :meth:`~flask_apierrors.ApiErrors.override` refuses it.
APP_WIDE: t.Final = {"app_wide": True}


def app_wide(default: _T) -> _T:
    """Declare a settings field that holds for the whole app only (see
    :data:`APP_WIDE`): ``name: int = app_wide(1)``."""
    return dataclasses.field(default=default, metadata=APP_WIDE)


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The settings of one app (or one blueprint override), read once.

    Attribute names are the config keys without the ``APIERRORS_`` prefix,
    in lower case.
    """

    #: Body format: ``"error"``, ``"error_code"``, ``"detail"``,
    #: ``"problem"``, a registered name, or a callable.
    format: t.Any = "error"
    #: Answer ``application/problem+json`` when the client prefers it.
    problem_on_accept: bool = True
    #: Spell codes upper case (``NOT_FOUND``). ``None``: upper case in the
    #: ``error_code`` and ``detail`` formats, lower case in the others.
    uppercase_codes: bool | None = None
    #: Put the correlation id in every error body.
    include_correlation_id: bool = True
    #: Request headers a correlation id is taken from, first match wins.
    request_id_headers: tuple[str, ...] = app_wide(("X-Request-ID", "X-Correlation-ID"))
    #: Response header that carries the correlation id.
    response_id_header: str = app_wide("X-Request-ID")
    #: Prefix of generated correlation ids.
    request_id_prefix: str = app_wide("req_")
    #: Prefix of generated error ids (500 responses).
    error_id_prefix: str = app_wide("err_")
    #: Base URI of the ``problem`` format's ``type`` (``base + code``);
    #: ``None`` gives ``about:blank``.
    problem_type_base: str | None = None
    #: Template of the ``problem`` format's ``type``, ``{code}`` filled in
    #: (``"https://example.com/errors/{code}"``), so each code links to its
    #: documentation; wins over ``problem_type_base``.
    problem_type_template: str | None = None
    #: ``support_message`` of a 500 body.
    support_message: str = "Please contact support with this error ID"
    #: Content types listed as ``expected_types`` in a 415 body.
    expected_content_types: tuple[str, ...] = ("application/json",)
    #: Status of validation errors (400 as documented; 422 is common too).
    validation_status: int = 400
    #: Most validation errors listed in one body; the total is reported.
    max_validation_errors: int = 100
    #: Longest echoed ``invalid_value`` (characters of its JSON text).
    max_value_length: int = 200
    #: Field-name fragments whose values are never echoed.
    redact_fields: tuple[str, ...] = DEFAULT_REDACT_FIELDS
    #: What is echoed instead of a redacted value.
    redacted_value: str = "[REDACTED]"
    #: Add a machine ``code`` to each field error (``required``,
    #: ``too_long``, ``invalid_choice`` ...); off, the documented bodies
    #: stay exact.
    field_error_codes: bool = False
    #: ``field`` of errors about the whole object (marshmallow's ``_schema``).
    schema_error_field: str = "_schema"
    #: ``(message) -> message``, applied per request to every error
    #: message; ``None``: flask-babel's ``gettext`` where flask-babel is set
    #: up on the app, else none.
    translate: t.Callable[[str], str] | None = None
    #: Log 4xx errors at INFO (5xx are always logged at ERROR).
    log_client_errors: bool = False
    #: Guard the request bodies a server ends itself (gunicorn), as the view
    #: reads them: a chunked body under ``MAX_CONTENT_LENGTH`` (413) with
    #: broken framing a 400, and a body shorter than its length a 400.
    buffer_streamed_bodies: bool = app_wide(True)
    #: Render errors at all. ``False`` on the app with ``enabled=True`` on a
    #: blueprint override renders only that blueprint's errors; ``False`` on
    #: an override leaves that blueprint to Flask and the app's own handlers.
    enabled: bool = True

    def __post_init__(self) -> None:
        check_type_template(self.problem_type_template)
        status = self.validation_status
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 499:
            invalid("validation_status", status, "a validation error is a 4xx (400 or 422)")
        for name in ("request_id_prefix", "error_id_prefix"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _ID_PREFIX.fullmatch(value):
                invalid(name, value, "use at most 64 letters, digits, '.', '_' or '-'")
        for name, headers in (
            ("response_id_header", (self.response_id_header,)),
            ("request_id_headers", self.request_id_headers),
        ):
            for header in headers:
                if not _TOKEN.fullmatch(header):
                    invalid(name, header, "not a header name")
        if self.response_id_header.lower() in _RESPONSE_HEADERS:
            invalid("response_id_header", self.response_id_header, "responses need that header")


#: What starts an id (ids are at most 128 of these characters, see
#: :data:`flask_apierrors.correlation.VALID_ID`).
_ID_PREFIX: t.Final = re.compile(r"[A-Za-z0-9._-]{0,64}")
#: A header name (RFC 9110 token).
_TOKEN: t.Final = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Headers an error response sets itself: not for the correlation id.
_RESPONSE_HEADERS: t.Final = frozenset(
    "allow cache-control connection content-encoding content-length content-type date location"
    " retry-after server set-cookie transfer-encoding vary www-authenticate".split()
)


#: The settings classes of every feature that declared its own keys
#: (:func:`register_settings`), by class; the core's :class:`Settings` first.
_GROUPS: dict[type[t.Any], None] = {Settings: None}

S = t.TypeVar("S")


def register_settings(cls: type[S]) -> type[S]:
    """Declare a feature's own ``APIERRORS_*`` keys: ``cls`` is a frozen
    dataclass whose field names are the options (and, upper-cased after the
    prefix, the config keys). Its keys are then accepted by
    :class:`~flask_apierrors.ApiErrors` and blueprint overrides, read once
    per app by :meth:`~flask_apierrors.state.AppState.settings_of`, and
    listed by the docs. Usable as a class decorator; idempotent.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__} must be a dataclass to declare settings.")
    clash = set(field_names(cls)) & {n for g in _GROUPS if g is not cls for n in field_names(g)}
    if clash:
        raise ValueError(f"{cls.__name__} declares settings that exist already: {sorted(clash)}")
    _GROUPS[cls] = None
    return cls


def settings_classes() -> tuple[type[t.Any], ...]:
    """Every settings class: the core's first, then each feature's."""
    return tuple(_GROUPS)


def field_names(cls: type[t.Any]) -> tuple[str, ...]:
    """The option names of a settings class, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def all_names() -> tuple[str, ...]:
    """Every option name of every settings class."""
    return tuple(name for cls in _GROUPS for name in field_names(cls))


def check_options(
    options: t.Mapping[str, t.Any],
    names: t.Sequence[str] | None = None,
    owner: str = "flask-apierrors",
) -> None:
    """Raise TypeError naming the valid options (default: every settings
    class's) for an unknown one."""
    names = all_names() if names is None else names
    unknown = set(options) - set(names)
    if unknown:
        raise TypeError(
            f"Unknown {owner} option(s): {', '.join(sorted(unknown))}."
            f" Valid options: {', '.join(names)}."
        )


def check_scoped(options: t.Mapping[str, t.Any]) -> None:
    """Like :func:`check_options`, for a blueprint override: also raise
    TypeError for a setting that holds for the whole app only, and
    ValueError for a value not of its declared type."""
    check_options(options)
    wide = sorted(
        f.name
        for cls in _GROUPS
        for f in dataclasses.fields(cls)
        if f.name in options and f.metadata.get("app_wide")
    )
    if wide:
        raise TypeError(
            f"{', '.join(wide)}: app-wide setting(s), not for one blueprint; set them on"
            " ApiErrors(...) or in app.config."
        )
    # Each value's type too, now: an override made before any app is set up
    # is applied at init_app. What holds only together with the app's other
    # settings is checked against them (AppState.add_override).
    for cls in _GROUPS:
        read_values(cls, options)


def merged(settings: S, options: t.Mapping[str, t.Any]) -> S:
    """A copy of ``settings`` with those of ``options`` that it declares
    applied (unknown names of every class raise TypeError)."""
    check_options(options)
    changes = read_values(type(settings), options)
    return dataclasses.replace(settings, **changes) if changes else settings  # type: ignore[type-var]


def load(app: Flask, cls: type[S], options: t.Mapping[str, t.Any]) -> S:
    """Seed ``app.config`` with the defaults of ``cls``, then read it;
    keyword options win over config values.

    :raises ValueError: A value cannot be read (one line naming the key).
    """
    defaults = cls()
    values = {
        name: app.config.setdefault(config_key(name), getattr(defaults, name))
        for name in field_names(cls)
    }
    values.update({k: v for k, v in options.items() if k in values})
    return cls(**read_values(cls, values))


def load_settings(app: Flask, options: t.Mapping[str, t.Any]) -> Settings:
    """The core's :class:`Settings` of ``app`` (see :func:`load`); an
    ``APIERRORS_*`` key of ``app.config`` that names no setting (a typo) is
    logged at WARNING, with the likely one."""
    check_options(options)
    known = {config_key(name) for name in all_names()}
    for key in app.config:
        if key.startswith(PREFIX) and key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            logging.getLogger("flask_apierrors").warning(
                "%s in the config of app %r is not a flask-apierrors setting%s; it is ignored.",
                key,
                app.name,
                f" (did you mean {close[0]}?)" if close else "",
            )
    return load(app, Settings, options)
