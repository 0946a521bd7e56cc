"""Application errors: :class:`ApiError` and :func:`abort`."""

from __future__ import annotations

import typing as t
from types import MappingProxyType

from werkzeug.exceptions import HTTPException

from .catalog import Catalog
from .catalog import reason_phrase
from .statuses import check_error_status

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: The built-in codes: what an ApiError knows of its code before an app
#: renders it.
_BUILTIN: t.Final = Catalog.default()


class ApiError(HTTPException):
    """An error with a stable machine code, raised anywhere in a request.

    Codes in the catalog fill in the status and default message::

        raise ApiError("job_not_found", details={"job_id": job_id})

    Subclasses fix ``error_code``, ``status``, ``message``, ``format``,
    ``details`` and ``headers`` as class attributes (details and headers
    given when raising are added to the class's, and win). A subclass
    without an explicit ``error_code`` uses its class name upper-cased
    (``DatabaseException`` -> ``DATABASEEXCEPTION``).
    On a subclass, a single positional argument is the message::

        class DatabaseException(ApiError):
            status = 500
            message = "Database operation failed"


        raise DatabaseException("Could not write the job")

    It is a Werkzeug :class:`~werkzeug.exceptions.HTTPException`, so its
    status survives even where no handler is installed. What the raiser does
    not fix (status, message) is taken from the catalog of the app that
    renders the error; before that, :attr:`status` and :attr:`message` hold
    the built-in catalog's values (500 and the reason phrase for a code only
    the app's catalog knows).

    :param error_code: The code (a catalog code or any string).
    :param message: The sentence for the client; defaults to the class's
        ``message``, then the catalog's, then the reason phrase.
    :param status: HTTP status; defaults to the class's, then the catalog's,
        then 500.
    :param details: Extra context for the client.
    :param headers: Extra response headers.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        :attr:`problem_type` and :attr:`problem_members`; class-level
        :attr:`details` and :attr:`headers`.
    """

    #: The machine code of every instance of this class.
    error_code: str | None = None
    #: The HTTP status of every instance of this class.
    status: int | None = None
    #: The default message of this class.
    message: str | None = None
    #: A format this class always renders in (a legacy contract).
    format: str | None = None
    #: Details every instance of this class carries.
    details: t.Mapping[str, t.Any] = MappingProxyType({})
    #: Response headers every instance of this class sends.
    headers: t.Mapping[str, str] = MappingProxyType({})
    #: The ``problem`` format's ``type`` for this error, in place of the one
    #: the settings give its code (:attr:`Problem.problem_type
    #: <flask_apierrors.Problem.problem_type>`).
    problem_type: str | None = None
    #: Members only the ``problem`` format renders (``violated-policies`` ...).
    problem_members: t.Mapping[str, t.Any] = MappingProxyType({})
    #: A 5xx of this class is reported to monitoring (Flask's
    #: ``got_request_exception``: Sentry, OpenTelemetry ...); ``False`` for
    #: answers given on purpose rather than faults (maintenance, overload).
    monitored: bool = True

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if "error_code" not in cls.__dict__:
            cls.error_code = cls.__name__.upper()

    def __init__(
        self,
        error_code: str | None = None,
        message: str | None = None,
        *,
        status: int | None = None,
        details: t.Mapping[str, t.Any] | None = None,
        headers: t.Mapping[str, str] | None = None,
    ) -> None:
        cls = type(self)
        if cls is not ApiError and error_code is not None and message is None:
            # On a subclass the code is fixed: ``Sub("text")`` is the message.
            error_code, message = None, error_code
        code = error_code or cls.error_code
        if not code:
            raise TypeError("ApiError needs an error code: ApiError('not_found', ...).")
        spec = _BUILTIN.get(code)
        self.error_code = code
        #: The status the raiser (or the class) fixed, else ``None``.
        self.given_status = status or cls.status
        #: The message the raiser (or the class) fixed, else ``None``.
        self.given_message = message or cls.message
        self.status = self.given_status or (spec.status if spec else 500)
        check_error_status(self.status, f"ApiError {code!r}")
        self.message = self.given_message or (spec.message if spec else reason_phrase(self.status))
        # The class's, then the raiser's (which win).
        self.details = {**cls.details, **details} if details else dict(cls.details)
        self.headers = {**cls.headers, **headers} if headers else dict(cls.headers)
        self.code = self.status
        super().__init__(description=self.message)

    @property
    def name(self) -> str:
        """The HTTP reason phrase."""
        return reason_phrase(self.status or 500)

    def get_headers(
        self,
        environ: WSGIEnvironment | None = None,
        scope: dict[str, t.Any] | None = None,
    ) -> list[tuple[str, str]]:
        """Werkzeug's headers plus :attr:`headers`."""
        return [*super().get_headers(environ, scope), *self.headers.items()]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.error_code!r} ({self.status})>"

    def __str__(self) -> str:
        return f"{self.status} {self.error_code}: {self.message}"


def abort(error_code: str, /, **details: t.Any) -> t.NoReturn:
    """Raise :class:`ApiError` for ``error_code`` with ``details``.

    .. code-block:: python

        abort("job_not_found", job_id=job_id)

    :param error_code: A catalog code (or any string).
    :param details: The ``details`` of the error body.
    """
    raise ApiError(error_code, details=details or None)
