"""convert_pydantic_error: entries' paths follow the model's names (union
labels left out, aliases as the client sent them), secret types and names
behind aliases redacted, a failing key echoed under its path, and a union
member's secret hidden in the whole value echoed."""

from __future__ import annotations

import json
import typing as t

import pytest

from flask_apierrors import FieldError

from .support.converter_context import converter_context as _ctx

pytest.importorskip("pydantic")

from pydantic import AliasChoices  # noqa: E402
from pydantic import AliasPath  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic import ConfigDict  # noqa: E402
from pydantic import Field  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from pydantic import TypeAdapter  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from flask_apierrors.integrations.pydantic import convert_pydantic_error  # noqa: E402


class Cat(BaseModel):
    kind: t.Literal["cat"]
    meows: int


class Dog(BaseModel):
    kind: t.Literal["dog"]
    barks: int


class Owner(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    name: str = Field(max_length=3)
    pet: Cat | Dog | None = None
    tagged: t.Annotated[Cat | Dog, Field(discriminator="kind")] | None = None
    size: int | str = 0
    secret_code: str = Field(default="", alias="code", max_length=3)
    card_number: str = Field(
        default="", validation_alias=AliasChoices("cardNo", "pan"), max_length=3
    )
    nested: str = Field(default="", validation_alias=AliasPath("deep", 1), max_length=3)
    token: SecretStr | None = Field(default=None, max_length=3)
    labels: dict[str, int] = {}
    friends: list[Owner] = []


def _owner_errors(payload: dict[str, t.Any], **options: t.Any) -> list[FieldError]:
    with pytest.raises(ValidationError) as info:
        Owner.model_validate(payload)
    problem = convert_pydantic_error(info.value, _ctx(**options))
    assert problem is not None
    return list(problem.errors)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"name": "n", "pet": {"kind": "cat", "meows": "x"}},
            [
                ("pet.meows", "x"),
                ("pet.kind", "cat"),
                ("pet.barks", None),
            ],
        ),
        ({"name": "n", "tagged": {"kind": "dog", "barks": "x"}}, [("tagged.barks", "x")]),
        ({"name": "n", "size": []}, [("size", []), ("size", [])]),
        ({"name": "n", "code": "1234"}, [("code", "[REDACTED]")]),
        ({"name": "n", "secret_code": "1234"}, [("secret_code", "[REDACTED]")]),
        ({"name": "n", "pan": "4111"}, [("pan", "[REDACTED]")]),
        ({"name": "n", "deep": ["a", "long"]}, [("deep[1]", "long")]),
        ({"name": "n", "token": "long"}, [("token", "[REDACTED]")]),
        (
            {"name": "n", "labels": {"a": "x", "password": "y"}},
            [
                ("labels.a", "x"),
                ("labels.password", "[REDACTED]"),
            ],
        ),
        (
            {
                "name": "n",
                "friends": [{"name": "long", "friends": [{"name": "n", "code": "x" * 9}]}],
            },
            [("friends[0].name", "long"), ("friends[0].friends[0].code", "[REDACTED]")],
        ),
    ],
)
def test_paths_and_redaction_follow_the_model(
    payload: dict[str, t.Any], expected: list[tuple[str, t.Any]]
) -> None:
    errors = _owner_errors(payload)
    assert [(e.field, e.to_dict()["invalid_value"]) for e in errors] == expected


def test_without_the_model_loc_is_all_there_is() -> None:
    # An error built by hand (or by a library that validates some other way).
    error = ValidationError.from_exception_data(
        "Owner",
        [
            {"type": "int_parsing", "loc": ("pet", "Cat", "meows"), "input": "x"},
            {
                "type": "string_too_long",
                "loc": ("code",),
                "input": "1234",
                "ctx": {"max_length": 3},
            },
            {
                "type": "string_too_long",
                "loc": ("token",),
                "input": "1234",
                "ctx": {"max_length": 3},
            },
            {"type": "string_type", "loc": ("labels", 5, "[key]"), "input": 5},
        ],
    )
    problem = convert_pydantic_error(error, _ctx())
    assert problem is not None
    assert [(e.field, e.to_dict()["invalid_value"]) for e in problem.errors] == [
        ("pet.Cat.meows", "x"),
        ("code", "1234"),
        ("token", "[REDACTED]"),
        ("labels[5]", 5),
    ]


def test_a_key_that_fails_is_echoed_under_its_path() -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(dict[t.Annotated[str, Field(max_length=2)], int]).validate_python(
            {"abc": 1, "d": "x"}
        )
    problem = convert_pydantic_error(info.value, _ctx(field_error_codes=True))
    assert problem is not None
    assert [e.to_dict() for e in problem.errors] == [
        {
            "field": "abc",
            "message": "String should have at most 2 characters",
            "invalid_value": "abc",
            "code": "too_long",
        },
        {
            "field": "d",
            "message": "Input should be a valid integer, unable to parse string as an integer",
            "invalid_value": "x",
            "code": "invalid_type",
        },
    ]


class Credential(BaseModel):
    value: SecretStr
    n: int


class Holder(BaseModel):
    u: Credential | int


def test_a_union_members_secret_is_hidden_in_the_whole_value_echoed() -> None:
    # pydantic reports the int member's error with the whole object: echoed
    # there, it is hidden as the model member would hide it.
    with pytest.raises(ValidationError) as info:
        Holder.model_validate({"u": {"value": "sk-live-123", "n": "x"}})
    problem = convert_pydantic_error(info.value, _ctx())
    assert problem is not None
    echoed = [(e.field, e.invalid_value) for e in problem.errors]
    assert ("u", {"value": "[REDACTED]", "n": "x"}) in echoed
    assert "sk-live-123" not in json.dumps([e.invalid_value for e in problem.errors])
