from __future__ import annotations

import flask_apierrors


def test_all_is_sorted_and_complete() -> None:
    exported = flask_apierrors.__all__
    assert exported == sorted(exported)
    public = {
        name
        for name in dir(flask_apierrors)
        if not name.startswith("_")
        and not isinstance(getattr(flask_apierrors, name), type(flask_apierrors))
        and name != "annotations"
    }
    assert public == set(exported)


def test_core_surface() -> None:
    for name in [
        "ApiErrors",
        "ApiError",
        "abort",
        "Problem",
        "FieldError",
        "ErrorSpec",
        "Catalog",
        "Format",
    ]:
        assert name in flask_apierrors.__all__
