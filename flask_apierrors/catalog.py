"""The error catalog: every code an app can answer with, in one place.

The catalog is the single source of truth: handlers read status and default
message from it, and the docs generator reads it to write the error
reference. It holds no Flask objects.
"""

from __future__ import annotations

import typing as t

from .builtin_codes import builtin_specs
from .errorspec import GROUPS as GROUPS
from .errorspec import ErrorSpec as ErrorSpec
from .errorspec import code_for_exception_class as code_for_exception_class
from .errorspec import snake_case as snake_case
from .statuses import reason_phrase as reason_phrase


class Catalog:
    """An ordered, case-insensitive collection of :class:`ErrorSpec`.

    ``Catalog()`` is empty; :meth:`Catalog.default` holds a code for every
    Werkzeug error plus ``invalid_json``, ``validation_error``,
    ``insufficient_storage`` (507) and ``concurrent_limit_exceeded``. Codes
    are looked up case-insensitively, so ``NOT_FOUND`` finds ``not_found``.
    """

    def __init__(self, specs: t.Iterable[ErrorSpec] = ()) -> None:
        self._specs: dict[str, ErrorSpec] = {}
        self._by_status: dict[int, ErrorSpec] = {}
        for spec in specs:
            self.register(spec)

    @classmethod
    def default(cls) -> Catalog:
        """A new catalog with the built-in codes."""
        return cls(builtin_specs())

    def register(self, spec: ErrorSpec) -> ErrorSpec:
        """Add ``spec``, replacing a spec of the same code."""
        self._specs[spec.code.lower()] = spec
        current = self._by_status.get(spec.status)
        # The code Werkzeug's own exception of a status maps to stays the
        # status' default; a custom code never displaces it.
        if current is None or current.code.lower() == spec.code.lower():
            self._by_status[spec.status] = spec
        return spec

    def add(
        self,
        code: str,
        status: int,
        message: str,
        *,
        description: str = "",
        group: str = "custom",
        example_details: t.Mapping[str, t.Any] | None = None,
        example_message: str | None = None,
        format: str | None = None,
        headers: t.Sequence[str] = (),
    ) -> ErrorSpec:
        """Create and register an :class:`ErrorSpec`; returns it."""
        return self.register(
            ErrorSpec(
                code=code,
                status=status,
                message=message,
                description=description,
                group=group,
                example_details=example_details or {},
                example_message=example_message,
                format=format,
                headers=tuple(headers),
            )
        )

    def get(self, code: str) -> ErrorSpec | None:
        """The spec of ``code`` (any case), or ``None``."""
        return self._specs.get(code.lower())

    def __getitem__(self, code: str) -> ErrorSpec:
        spec = self.get(code)
        if spec is None:
            raise KeyError(code)
        return spec

    def for_status(self, status: int) -> ErrorSpec | None:
        """The default spec for an HTTP status, or ``None``."""
        return self._by_status.get(status)

    def copy(self) -> Catalog:
        """A shallow copy (specs are immutable)."""
        new = Catalog()
        new._specs = dict(self._specs)
        new._by_status = dict(self._by_status)
        return new

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.lower() in self._specs

    def __iter__(self) -> t.Iterator[ErrorSpec]:
        # A copy: the catalog is shared by the apps of one ApiErrors, and a
        # factory may add to it while another app reads it.
        return iter(tuple(self._specs.values()))

    def __len__(self) -> int:
        return len(self._specs)

    def __repr__(self) -> str:
        return f"<Catalog of {len(self)} codes>"
