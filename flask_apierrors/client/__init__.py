"""Client side: error responses as exceptions, retries, and error tracking.

For the programs that call an API built with flask-apierrors (or one that
answers in the same shapes). It does not import Flask, and works with
``requests`` and ``httpx`` responses alike (and Werkzeug test responses)::

    response = requests.get(f"{base_url}/jobs/42", timeout=10)
    raise_for_error(response)  # NotFoundError, RateLimitError ...

Every body shape is understood: ``{"error": code, ...}``,
``{"error": true, "error_code": CODE, ...}``, ``{"detail": {"code": CODE, ...}}``,
RFC 9457 problem details, plus ``{"detail": "text"}`` and plain-text bodies.

Retries (:func:`retry_call`, :func:`request_with_retry` and their async
twins) use exponential backoff with jitter, honour ``Retry-After`` and
``X-RateLimit-Reset``, and retry only 429, 502, 503, 504 and connection
errors, within a bound on attempts and on total time. The same
:class:`RetryPolicy` computes the retries of
:func:`flask_apierrors.upstream.upstream_call`.

.. versionadded:: 0.1
"""

from __future__ import annotations

from .errors import CODE_CLASSES as CODE_CLASSES
from .errors import RETRY_STATUSES
from .errors import ApiClientError
from .errors import AuthenticationError
from .errors import AuthorizationError
from .errors import ClientError
from .errors import FieldViolation
from .errors import NotFoundError
from .errors import RateLimitError
from .errors import ServerError
from .errors import ServiceUnavailableError
from .errors import UpstreamError
from .errors import ValidationError
from .failures import is_connection_error
from .parse import CORRELATION_HEADERS as CORRELATION_HEADERS

# flask_apierrors.testing reads body shapes with it.
from .parse import _fields_of as _fields_of
from .parse import aerror_from_response
from .parse import araise_for_error
from .parse import error_from_response
from .parse import parse_error
from .parse import raise_for_error
from .policy import OnRetry as OnRetry
from .policy import RetryPolicy
from .retry import IDEMPOTENT_METHODS as IDEMPOTENT_METHODS
from .retry import arequest_with_retry
from .retry import aretry_call
from .retry import request_with_retry
from .retry import retry_call
from .tracker import ErrorTracker
from .transport import MAX_RETRY_AFTER as MAX_RETRY_AFTER
from .transport import parse_retry_after
from .transport import retry_after

__all__ = [
    "ApiClientError",
    "AuthenticationError",
    "AuthorizationError",
    "ClientError",
    "ErrorTracker",
    "FieldViolation",
    "NotFoundError",
    "RETRY_STATUSES",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailableError",
    "UpstreamError",
    "ValidationError",
    "aerror_from_response",
    "araise_for_error",
    "arequest_with_retry",
    "aretry_call",
    "error_from_response",
    "is_connection_error",
    "parse_error",
    "parse_retry_after",
    "raise_for_error",
    "request_with_retry",
    "retry_after",
    "retry_call",
]
