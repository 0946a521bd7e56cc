"""The example app's settings: every key, its default, and how it is read.

Each key ``NAME`` is read from the environment variable ``EXAMPLE_APP_NAME``
(:meth:`flask.Config.from_prefixed_env`: values that parse as JSON become
numbers and booleans, so ``EXAMPLE_APP_CONCURRENT_LIMIT=8`` is the integer 8),
or from the ``config`` mapping given to :func:`example_app.create_app`, which
wins. docs/example_app.rst documents each key.
"""

from __future__ import annotations

import math
import re
import typing as t
import urllib.parse

import limits

#: Every setting of the example app and its default.
DEFAULTS: t.Final[dict[str, t.Any]] = {
    # An admin key accepted on both APIs (``mel_`` + 32 letters or digits).
    "ADMIN_KEY": None,
    # Where the SQLite database, uploads and models live (default: ./instance).
    "INSTANCE_PATH": None,
    # Seconds SQLite waits for another writer before giving up.
    "DB_TIMEOUT": 5.0,
    # flask-limiter storage: memory:// (one process) or redis://host:port.
    "RATELIMIT_STORAGE_URI": "memory://",
    "CHAT_RATE_LIMIT": "100 per minute",
    "IMAGE_RATE_LIMIT": "60 per minute",
    # Requests in flight per API key on the chat API.
    "CONCURRENT_LIMIT": 5,
    # Largest JSON body, in bytes.
    "MAX_JSON_BYTES": 1_000_000,
    # Chat files: largest file, and how long a new file stays "processing".
    "MAX_FILE_BYTES": 50_000_000,
    "FILE_PROCESSING_SECONDS": 2.0,
    # Image uploads: largest image and most images per batch.
    "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
    "MAX_BATCH_FILES": 25,
    # Bytes all stored uploads may take together (STORAGE_ERROR past it).
    "STORAGE_QUOTA": 1024**3,
    # Upstream services; unset means the local model and search.
    "MODEL_SERVICE_URL": None,
    "SEARCH_SERVICE_URL": None,
    "GENERATION_SERVICE_URL": None,
    # Seconds an upstream call may take before a 504.
    "UPSTREAM_TIMEOUT": 60.0,
    # Seconds a research request may take before a 504.
    "RESEARCH_TIMEOUT": 300.0,
    # Model generation: retries after the first attempt, the first backoff
    # (doubling, at least the service's Retry-After), the seconds all
    # attempts may take, and the seconds one generation may take.
    "GENERATION_RETRIES": 3,
    "GENERATION_BACKOFF": 1.0,
    "GENERATION_MAX_TIME": 300.0,
    "GENERATION_TIMEOUT": 600.0,
    # Seconds between keep-alive comments of a quiet job event stream.
    "STREAM_HEARTBEAT": 15.0,
    # Answer 503 on both APIs from start (also switchable at run time).
    "MAINTENANCE": False,
    # Honour the X-Fault request header (demos and tests only).
    "FAULTS": False,
}

#: What an API key looks like.
KEY_PATTERN: t.Final = re.compile(r"mel_[A-Za-z0-9]{32}")

#: The longest wait any setting may ask for, in seconds (one day).
_MAX_SECONDS: t.Final = 86_400.0
#: The largest count or size in bytes (what SQLite and Python's I/O take).
_MAX_COUNT: t.Final = 2**63 - 1

#: Numeric settings: whether 0 is allowed (negatives never are), and the largest value.
_NUMBERS: t.Final[dict[str, tuple[bool, float]]] = {
    "DB_TIMEOUT": (False, _MAX_SECONDS),
    "CONCURRENT_LIMIT": (False, _MAX_COUNT),
    "MAX_JSON_BYTES": (False, _MAX_COUNT),
    "MAX_FILE_BYTES": (False, _MAX_COUNT),
    "MAX_IMAGE_BYTES": (False, _MAX_COUNT),
    "MAX_BATCH_FILES": (False, _MAX_COUNT),
    "UPSTREAM_TIMEOUT": (False, _MAX_SECONDS),
    "RESEARCH_TIMEOUT": (False, _MAX_SECONDS),
    "GENERATION_TIMEOUT": (False, _MAX_SECONDS),
    "STREAM_HEARTBEAT": (False, _MAX_SECONDS),
    "STORAGE_QUOTA": (True, _MAX_COUNT),
    "FILE_PROCESSING_SECONDS": (True, _MAX_SECONDS),
    "GENERATION_RETRIES": (True, 100),
    "GENERATION_BACKOFF": (True, _MAX_SECONDS),
    "GENERATION_MAX_TIME": (True, _MAX_SECONDS),
}
_RATE_LIMITS: t.Final = ("CHAT_RATE_LIMIT", "IMAGE_RATE_LIMIT")
_SERVICE_URLS: t.Final = ("MODEL_SERVICE_URL", "SEARCH_SERVICE_URL", "GENERATION_SERVICE_URL")


def _check_number(name: str, value: t.Any) -> None:
    zero_allowed, largest = _NUMBERS[name]
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
        or (value == 0 and not zero_allowed)
        or value > largest
    ):
        low = ">= 0" if zero_allowed else "> 0"
        raise ValueError(
            f"EXAMPLE_APP_{name} must be a finite number {low} and <= {largest:g}, not {value!r}."
        )


def _check_rate_limit(name: str, value: t.Any) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError
        limits.parse_many(value)
    except ValueError:
        raise ValueError(
            f"EXAMPLE_APP_{name} must be a rate limit such as '100 per minute', not {value!r}."
        ) from None


def _check_service_url(name: str, value: t.Any) -> None:
    if value is None or value == "":
        return
    try:
        if not isinstance(value, str):
            raise ValueError
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"EXAMPLE_APP_{name} must be an http:// or https:// URL with a host, not {value!r}."
        ) from None


def check(config: t.Mapping[str, t.Any]) -> None:
    """Refuse to start with a setting that cannot work: every number finite
    and in range, rate limits that parse, service URLs with a scheme and a
    host.

    :raises ValueError: naming the key and what it should look like.
    """
    admin = config["ADMIN_KEY"]
    if admin is not None and not (isinstance(admin, str) and KEY_PATTERN.fullmatch(admin)):
        raise ValueError("EXAMPLE_APP_ADMIN_KEY must be 'mel_' followed by 32 letters or digits.")
    for name in _NUMBERS:
        _check_number(name, config[name])
    for name in _RATE_LIMITS:
        _check_rate_limit(name, config[name])
    for name in _SERVICE_URLS:
        _check_service_url(name, config[name])


def service_url(config: t.Mapping[str, t.Any], name: str) -> str | None:
    """The configured URL of an upstream service without a trailing slash,
    or ``None`` when unset (an empty string counts as unset)."""
    value = config[name]
    if value is None or value == "":
        return None
    return str(value).rstrip("/")
