"""What every validation integration shares: the path syntax, the text of
messages, the machine codes (rendered only when asked for) and the
``validation_error`` problem."""

from __future__ import annotations

import time
import typing as t
from pathlib import Path

import pytest

from flask_apierrors.config import Settings
from flask_apierrors.integrations.fielderrors import FIELD_ERROR_CODES
from flask_apierrors.integrations.fielderrors import GENERIC_MESSAGE
from flask_apierrors.integrations.fielderrors import MAX_MESSAGE_LENGTH
from flask_apierrors.integrations.fielderrors import TRUNCATION_MARKER
from flask_apierrors.integrations.fielderrors import field_error
from flask_apierrors.integrations.fielderrors import format_path
from flask_apierrors.integrations.fielderrors import key_segment
from flask_apierrors.integrations.fielderrors import message_text
from flask_apierrors.integrations.fielderrors import scrubbed_messages
from flask_apierrors.integrations.fielderrors import validation_problem
from flask_apierrors.problem import MISSING
from flask_apierrors.problem import FieldError

from .support.converter_context import converter_context

DOCS = Path(__file__).parent.parent / "docs" / "validation.rst"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("model",), "model"),
        (("messages", 0, "content"), "messages[0].content"),
        ((0, "role"), "[0].role"),
        (("matrix", 1, 2), "matrix[1][2]"),
        (("tags", "a.b"), 'tags["a.b"]'),
        (("a b",), '["a b"]'),
        (("",), '[""]'),
        (('say "hi"',), '["say \\"hi\\""]'),
        (("x[0]",), '["x[0]"]'),
        (("line\nbreak", "ok"), '["line\\nbreak"].ok'),
        (("X-Api-Key", "größe"), "X-Api-Key.größe"),
        (("0",), "0"),
        (("\ud800",), "\ud800"),
    ],
)
def test_format_path(path: tuple[str | int, ...], expected: str) -> None:
    assert format_path(path) == expected


def test_long_paths_are_cut() -> None:
    name = "k" * 5000
    # The marker makes the cut name a quoted one: it can't pass for a real name.
    assert format_path((name,)) == '["' + "k" * 200 + TRUNCATION_MARKER + '"]'
    deep = format_path(tuple(["abcdefghij"] * 500))
    assert deep.endswith(TRUNCATION_MARKER)
    assert len(deep) == 1000 + len(TRUNCATION_MARKER)


def test_a_deep_path_is_not_read_past_the_limit() -> None:
    segments: t.Iterator[str | int] = iter(range(10**9))
    started = time.perf_counter()
    assert format_path(segments).endswith(TRUNCATION_MARKER)
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize(
    ("key", "expected"),
    [("name", "name"), (3, 3), (True, "?"), (None, "?"), (object(), "?"), (b"k", "k")],
)
def test_key_segment(key: t.Any, expected: str | int) -> None:
    assert key_segment(key) == expected


class LazyText:
    def __str__(self) -> str:
        return "Translated message"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Too short.", "Too short."),
        (RuntimeError("db password hunter2"), GENERIC_MESSAGE),
        (None, GENERIC_MESSAGE),
        (object(), GENERIC_MESSAGE),
        (b"bytes message", "bytes message"),
        (LazyText(), "Translated message"),
        (42, "42"),
        ("c" * 5000, "c" * MAX_MESSAGE_LENGTH + TRUNCATION_MARKER),
    ],
)
def test_message_text(message: t.Any, expected: str) -> None:
    assert message_text(message) == expected


def test_codes_only_with_the_setting() -> None:
    def boom() -> str:
        raise AssertionError("not asked for")

    assert field_error(["a"], "Bad.", 1, Settings(), code=boom) == FieldError("a", "Bad.", 1)
    on = Settings(field_error_codes=True)
    error = field_error(["a", 0], "Bad.", 1, on, code=lambda: "invalid", location="query")
    assert error.to_dict() == {
        "field": "a[0]",
        "message": "Bad.",
        "invalid_value": 1,
        "location": "query",
        "code": "invalid",
    }


def test_errors_about_the_whole_request_echo_nothing() -> None:
    settings = Settings(schema_error_field="body")
    assert field_error([], "Bad.", {"a": 1}, settings) == FieldError("body", "Bad.", MISSING)


@pytest.mark.parametrize("code", FIELD_ERROR_CODES)
def test_every_code_is_documented(code: str) -> None:
    assert f"``{code}``" in DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("listed", "total", "status", "details"),
    [(2, 2, None, {}), (2, 5, None, {"total_errors": 5}), (0, 1, 409, {"total_errors": 1})],
)
def test_validation_problem(
    listed: int, total: int, status: int | None, details: dict[str, int]
) -> None:
    ctx = converter_context(validation_status=422)
    errors = [FieldError(f"f{i}", "Bad.") for i in range(listed)]
    problem = validation_problem(ctx, errors, total, status=status)
    assert (problem.code, problem.status) == ("validation_error", status or 422)
    assert problem.details == details and len(problem.errors) == listed


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ({"n": "invalid literal for int() with base 10: 'x'"}, {"n": "Not a valid integer."}),
        (
            {"n": ["Page: could not convert string to float: 'x'"]},
            {"n": ["Page: Not a valid number."]},
        ),
        ({"n": "Exceeds the limit (4300 digits) for ..."}, {"n": "Not a valid integer."}),
        ({"token": {"_schema": ["'abc' is too short"]}}, {"token": {"_schema": [GENERIC_MESSAGE]}}),
        ({"token": "Missing required parameter"}, {"token": "Missing required parameter"}),
        ({"user": "'alice' is too short"}, {"user": "'alice' is too short"}),
        ({"max_tokens": "'9' is too long"}, {"max_tokens": "'9' is too long"}),
        ({"password": 3}, {"password": 3}),
    ],
)
def test_scrubbed_messages(messages: dict[str, t.Any], expected: dict[str, t.Any]) -> None:
    assert scrubbed_messages(messages, Settings()) == expected
