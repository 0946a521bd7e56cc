"""Tests of ApiErrors in apps built with other frameworks and extensions."""

from __future__ import annotations

import typing as t

from flask_apierrors import ApiErrors

if t.TYPE_CHECKING:
    from flask import Flask


def set_up(
    app: Flask, init_framework: t.Callable[[Flask], t.Any], apierrors_first: bool, **options: t.Any
) -> ApiErrors:
    """Set up ``ApiErrors`` and a framework (``init_framework(app)``) on
    ``app``, in the order asked: the integrations must work either way."""
    if apierrors_first:
        errors = ApiErrors(app, **options)
        init_framework(app)
    else:
        init_framework(app)
        errors = ApiErrors(app, **options)
    return errors
