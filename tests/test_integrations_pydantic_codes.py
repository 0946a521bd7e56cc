"""convert_pydantic_error: field error codes from pydantic's error types
(all of them documented codes), a bounded entry for deep input, and no
conversion of other exceptions."""

from __future__ import annotations

import typing as t

import pytest

from flask_apierrors.integrations.fielderrors import FIELD_ERROR_CODES
from flask_apierrors.integrations.fielderrors import TRUNCATION_MARKER

from .support.converter_context import converter_context as _ctx

pytest.importorskip("pydantic")

from pydantic import BaseModel  # noqa: E402
from pydantic import ConfigDict  # noqa: E402
from pydantic import Field  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from flask_apierrors.integrations.pydantic import TYPE_CODES  # noqa: E402
from flask_apierrors.integrations.pydantic import convert_pydantic_error  # noqa: E402
from flask_apierrors.integrations.pydantic import type_code  # noqa: E402


class Typed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(default="", min_length=2, max_length=3, pattern=r"^[a-z]*$")
    number: int = Field(default=1, ge=1, le=5)
    choice: t.Literal["a", "b"] = "a"
    when: str = ""
    flag: bool = False
    items: list[int] = Field(default=[], max_length=1)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"text": "a"}, "too_short"),
        ({"text": "abcd"}, "too_long"),
        ({"text": "AB"}, "invalid_format"),
        ({"text": 5}, "invalid_type"),
        ({"text": None}, "null"),
        ({"number": 0}, "out_of_range"),
        ({"number": "x"}, "invalid_type"),
        ({"choice": "c"}, "invalid_choice"),
        ({"choice": None}, "null"),
        ({"flag": "maybe"}, "invalid_type"),
        ({"items": [1, 2]}, "too_long"),
        ({"other": 1}, "unknown_field"),
    ],
)
def test_codes(payload: dict[str, t.Any], code: str) -> None:
    with pytest.raises(ValidationError) as info:
        Typed.model_validate(payload)
    problem = convert_pydantic_error(info.value, _ctx(field_error_codes=True))
    assert problem is not None
    assert [e.code for e in problem.errors] == [code]
    off = convert_pydantic_error(info.value, _ctx())
    assert off is not None and "code" not in off.errors[0].to_dict()


@pytest.mark.parametrize(
    ("error_type", "value", "code"),
    [
        ("missing", {}, "required"),
        ("date_parsing", "x", "invalid_format"),
        ("uuid_parsing", "x", "invalid_format"),
        ("dataclass_type", 1, "invalid_type"),
        ("value_error", 1, "invalid"),
        ("recursion_depth_exceeded", [], "invalid"),
    ],
)
def test_type_code(error_type: str, value: t.Any, code: str) -> None:
    assert type_code(error_type, value) == code


def test_every_code_is_a_documented_one() -> None:
    assert set(TYPE_CODES.values()) <= set(FIELD_ERROR_CODES)


# -- odd input ---------------------------------------------------------------


class Node(BaseModel):
    name: str = Field(default="", max_length=3)
    child: Node | None = None


def test_deep_input_gives_a_bounded_entry() -> None:
    payload: dict[str, t.Any] = {"name": "long"}
    for _ in range(3_000):
        payload = {"child": payload}
    with pytest.raises(ValidationError) as info:
        Node.model_validate(payload)
    problem = convert_pydantic_error(info.value, _ctx(field_error_codes=True))
    assert problem is not None
    (error,) = problem.errors
    assert error.field.startswith("child.child.") and error.field.endswith(TRUNCATION_MARKER)
    assert error.code == "invalid"
    assert isinstance(error.invalid_value, str)
    assert error.invalid_value.endswith(TRUNCATION_MARKER)


def test_other_exceptions_are_not_converted() -> None:
    assert convert_pydantic_error(ValueError("x"), _ctx()) is None
