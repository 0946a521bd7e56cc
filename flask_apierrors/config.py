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
    #: ``error_code`` and ``detail`` formats, as the image-to-model API documents.
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
    #: ``field`` of errors about the whole object (marshmallow's ``_schema``).
    schema_error_field: str = "_schema"
    #: Log 4xx errors at INFO (5xx are always logged at ERROR).
    log_client_errors: bool = False
    #: Read chunked request bodies before the view, so ``MAX_CONTENT_LENGTH``
    #: holds for them too (413) and broken chunk framing is a 400.
    buffer_streamed_bodies: bool = True
    #: Maintenance mode from the start: ``True``, an ISO 8601 interval
    #: ``"START/END"``, or a mapping with ``start``, ``end`` and ``message``
    #: (see :class:`~flask_apierrors.availability.Maintenance`).
    maintenance: t.Any = False
    #: File holding the maintenance state switched at run time, shared by
    #: every worker; ``None``: ``apierrors-maintenance.json`` in the
    #: instance folder.
    maintenance_file: str | None = None
    #: Paths (``/health``) and endpoint names that answer during maintenance.
    maintenance_exempt: tuple[str, ...] = ("/health",)
    #: ``Retry-After`` (seconds) of a maintenance 503 whose end is unknown.
    maintenance_retry_after: int = 300
    #: Seconds a worker trusts its last look at the maintenance state.
    maintenance_check_interval: float = 1.0
    #: Detail fields of a rate-limit 429, in order, from ``limit``,
    #: ``remaining``, ``reset``, ``reset_at``, ``window``, ``retry_after``;
    #: ``None``: chosen by the body format.
    ratelimit_details: tuple[str, ...] | None = None
    #: Message template of a rate-limit 429 (``{limit}``, ``{requests}``,
    #: ``{period}``, ``{window}`` ...); ``None``: chosen by the format. A
    #: limit's own ``error_message`` wins.
    ratelimit_message: str | None = None
    #: Smallest ``Retry-After`` of a rate-limit 429, seconds (at least 1).
    ratelimit_min_retry_after: int = 1
    #: Also send the IETF draft ``RateLimit-Policy`` and ``RateLimit`` headers.
    ratelimit_draft_headers: bool = False
    #: Apply the limits outage policy to flask-limiter's storage.
    ratelimit_guard_storage: bool = True
    #: When a limiter's storage fails: ``True`` lets requests through (one
    #: WARNING per outage), ``False`` answers 503 ``service_unavailable``.
    limits_fail_open: bool = True
    #: Seconds between tries of a failed limiter storage (the fail-closed
    #: 503's ``Retry-After`` is the wait for the next try, at least 1).
    limits_retry_interval: float = 1.0
    #: Where ``ConcurrencyLimiter`` keeps its slots: ``memory://`` or a
    #: Redis URI shared by every worker and host.
    concurrency_storage_uri: str = "memory://"
    #: Connect and read timeout of the concurrency Redis, seconds.
    concurrency_socket_timeout: float = 0.5
    #: Seconds after which a slot frees itself (the slots of a crashed worker).
    concurrency_slot_ttl: float = 300.0
    #: ``Retry-After`` of a concurrency 429, seconds.
    concurrency_retry_after: int = 1
    #: Prefix of the concurrency keys in the storage.
    concurrency_key_prefix: str = "apierrors:concurrency"
    #: App-wide concurrency limit per key (an int or a callable);
    #: ``None``: only decorated views are limited.
    concurrency_application_limit: t.Any = None

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
