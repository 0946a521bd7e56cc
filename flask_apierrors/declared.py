"""The error codes a view declares it can answer with, kept on the view
function for the OpenAPI document (:func:`flask_apierrors.openapi.documents`).

A declaration is an attribute of the function. Decorators written with
:func:`functools.wraps` copy a function's attributes to their wrapper, so a
declaration made by an inner decorator (:func:`~flask_apierrors.validation.use_schema`,
:meth:`ConcurrencyLimiter.limit <flask_apierrors.ConcurrencyLimiter.limit>`)
is seen on the view Flask registers; one made under a decorator that does
not copy them is lost. Pure functions, no Flask.

.. versionadded:: 0.2
"""

from __future__ import annotations

import typing as t

__all__ = [
    "ATTRIBUTE",
    "INPUTS_ATTRIBUTE",
    "declare",
    "declare_input",
    "declared_codes",
    "declared_inputs",
]

#: The attribute a view's declared codes are kept in (a tuple).
ATTRIBUTE: t.Final = "__apierrors_codes__"
#: The attribute of the request locations a view loads and validates
#: (``json``, ``query``, ``form``, ``files`` ...), a tuple.
INPUTS_ATTRIBUTE: t.Final = "__apierrors_inputs__"

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def declare(view: F, codes: t.Iterable[str]) -> F:
    """Add ``codes`` to those ``view`` declares; returns ``view``.

    :raises TypeError: a code is not a non-empty string.
    """
    new = tuple(codes)
    for code in new:
        if not isinstance(code, str) or not code:
            raise TypeError(f"An error code is a non-empty string, not {code!r}.")
    _add(view, ATTRIBUTE, new)
    return view


def declare_input(view: F, location: str) -> F:
    """Record that ``view`` loads and validates the request's ``location``
    (its errors then depend on it: a JSON body can be invalid JSON, of the
    wrong media type ...); returns ``view``."""
    _add(view, INPUTS_ATTRIBUTE, (location,))
    return view


def _add(view: t.Callable[..., t.Any], attribute: str, values: tuple[str, ...]) -> None:
    current = _read(view, attribute)
    # A new tuple: the one a wrapper copied from the function stays as it was.
    setattr(view, attribute, (*current, *(v for v in values if v not in current)))


def _read(view: t.Callable[..., t.Any], attribute: str) -> tuple[str, ...]:
    values = getattr(view, attribute, ())
    return tuple(values) if isinstance(values, tuple) else ()


def declared_codes(view: t.Callable[..., t.Any]) -> tuple[str, ...]:
    """The codes ``view`` declares, in the order they were declared."""
    return _read(view, ATTRIBUTE)


def declared_inputs(view: t.Callable[..., t.Any]) -> tuple[str, ...]:
    """The request locations ``view`` loads and validates."""
    return _read(view, INPUTS_ATTRIBUTE)
