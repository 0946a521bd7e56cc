"""One documented error code: :class:`ErrorSpec`, the groups of the error
reference, and the built-in code of a Werkzeug exception class. Pure: no
Flask (Werkzeug's exception classes only).
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
from types import MappingProxyType

from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import default_exceptions

from .statuses import check_error_status
from .statuses import code_for_status
from .statuses import reason_phrase

#: Groups the error reference is ordered by.
GROUPS: t.Final = (
    "authentication",
    "validation",
    "resource",
    "rate_limiting",
    "processing",
    "upstream",
    "availability",
    "http",
    "custom",
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(name: str) -> str:
    """``MethodNotAllowed`` -> ``method_not_allowed``; ``HTTPVersionNotSupported``
    -> ``http_version_not_supported``."""
    return _CAMEL.sub("_", name).lower()


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One documented error code.

    :param code: The machine code, spelled as clients will see it.
    :param status: The HTTP status it answers with.
    :param message: The default sentence for the client.
    :param description: When this error happens (for the docs).
    :param group: One of :data:`GROUPS`, for the docs.
    :param example_details: ``details`` of the documented example.
    :param example_message: The documented example's message, when it
        differs from the default.
    :param format: The format this code always renders in (a legacy
        contract), or ``None`` to follow the blueprint or app.
    :param headers: Names of the headers this error carries (for the docs).
    """

    code: str
    status: int
    message: str
    description: str = ""
    group: str = "custom"
    example_details: t.Mapping[str, t.Any] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    example_message: str | None = None
    format: str | None = None
    headers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.code or not isinstance(self.code, str):
            raise ValueError("An error code must be a non-empty string.")
        check_error_status(self.status, f"Error code {self.code!r}")
        if self.group not in GROUPS:
            raise ValueError(f"Error code {self.code!r}: group must be one of {GROUPS}.")
        # Freeze the example so a shared spec can't be changed through it.
        object.__setattr__(self, "example_details", MappingProxyType(dict(self.example_details)))

    @property
    def title(self) -> str:
        """The HTTP reason phrase of :attr:`status`."""
        return reason_phrase(self.status)


def code_for_exception_class(cls: type[HTTPException]) -> str:
    """The built-in code of a Werkzeug exception class."""
    if cls.code is not None and default_exceptions.get(cls.code) is cls:
        return code_for_status(cls.code)
    return snake_case(cls.__name__)
