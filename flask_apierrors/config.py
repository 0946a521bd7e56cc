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
import typing as t

if t.TYPE_CHECKING:
    from flask import Flask

PREFIX: t.Final = "APIERRORS_"

#: Names a field whose value is never echoed in a validation error.
DEFAULT_REDACT_FIELDS: t.Final = (
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "auth",
    "credential",
    "private_key",
    "access_key",
    "session",
    "cookie",
)


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
    #: ``error_code`` and ``detail`` formats, as the first seed does.
    uppercase_codes: bool | None = None
    #: Put the correlation id in every error body.
    include_correlation_id: bool = True
    #: Request headers a correlation id is taken from, first match wins.
    request_id_headers: tuple[str, ...] = ("X-Request-ID", "X-Correlation-ID")
    #: Response header that carries the correlation id.
    response_id_header: str = "X-Request-ID"
    #: Prefix of generated correlation ids.
    request_id_prefix: str = "req_"
    #: Prefix of generated error ids (500 responses).
    error_id_prefix: str = "err_"
    #: Base URI of the ``problem`` format's ``type`` (``base + code``);
    #: ``None`` gives ``about:blank``.
    problem_type_base: str | None = None
    #: ``support_message`` of a 500 body.
    support_message: str = "Please contact support with this error ID"
    #: Content types listed as ``expected_types`` in a 415 body.
    expected_content_types: tuple[str, ...] = ("application/json",)
    #: Status of validation errors (the seeds use 400; 422 is common too).
    validation_status: int = 400
    #: Most validation errors listed in one body; the total is reported.
    max_validation_errors: int = 100
    #: Longest echoed ``invalid_value`` (characters of its JSON text).
    max_value_length: int = 200
    #: Field-name fragments whose values are never echoed.
    redact_fields: tuple[str, ...] = DEFAULT_REDACT_FIELDS
    #: What is echoed instead of a redacted value.
    redacted_value: str = "[REDACTED]"
    #: ``field`` of errors about the whole object (marshmallow's ``_schema``).
    schema_error_field: str = "_schema"
    #: Log 4xx errors at INFO (5xx are always logged at ERROR).
    log_client_errors: bool = False

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names, in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def merged(self, options: t.Mapping[str, t.Any]) -> Settings:
        """A copy with ``options`` applied (unknown names raise TypeError)."""
        check_options(options)
        return dataclasses.replace(self, **_coerce(options)) if options else self


def config_key(name: str) -> str:
    """``format`` -> ``APIERRORS_FORMAT``."""
    return PREFIX + name.upper()


def check_options(options: t.Mapping[str, t.Any]) -> None:
    """Raise TypeError naming the fix for an unknown option."""
    unknown = set(options) - set(Settings.names())
    if unknown:
        raise TypeError(
            f"Unknown flask-apierrors option(s): {', '.join(sorted(unknown))}."
            f" Valid options: {', '.join(Settings.names())}."
        )


def _coerce(options: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    # Lists from app.config (JSON, env) become tuples so Settings stays frozen.
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


def load_settings(app: Flask, options: t.Mapping[str, t.Any]) -> Settings:
    """Seed ``app.config`` with the defaults, then read it; keyword options
    win over config values."""
    check_options(options)
    defaults = Settings()
    for name in Settings.names():
        app.config.setdefault(config_key(name), getattr(defaults, name))
    from_config = {name: app.config[config_key(name)] for name in Settings.names()}
    from_config.update(options)
    return Settings(**_coerce(from_config))
