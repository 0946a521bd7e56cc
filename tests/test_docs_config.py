"""The configuration page: every key of every settings class (the core's
and each feature's) has an entry with its description, default and keyword
twin, grouped by the feature that declares it."""

from __future__ import annotations

import dataclasses
import itertools
import re
import typing as t

import pytest

from flask_apierrors import plugins
from flask_apierrors.config import all_names
from flask_apierrors.config import config_key
from flask_apierrors.config import settings_classes
from tests.support.docs import ROOT
from tests.support.docs import load_extension

#: Every settings class, the features' too: they are declared when the
#: plug-ins load.
SETTINGS_CLASSES: t.Final = (plugins.installed(), settings_classes())[1]
FIELDS: t.Final = [(cls, f) for cls in SETTINGS_CLASSES for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(("cls", "field"), FIELDS, ids=[f.name for _, f in FIELDS])
def test_configuration_page_documents_every_setting(
    cls: type[t.Any], field: dataclasses.Field[t.Any]
) -> None:
    text = load_extension().config_rest()
    after = text.split(f".. data:: {config_key(field.name)}\n", 1)[1].splitlines()
    # The entry: its indented lines (and blank ones), up to what comes next.
    entry = "\n".join(itertools.takewhile(lambda line: not line or line[0] == " ", after))
    default = field.default if field.default is not dataclasses.MISSING else None
    assert f":Default: ``{default!r}``" in entry
    assert f":Keyword: ``{field.name}=``" in entry
    # The description is the ``#:`` comment above the field.
    assert len(entry.strip().splitlines()) > 2, f"{field.name} has no description"


def test_configuration_page_groups_settings_by_owner() -> None:
    extension = load_extension()
    text = "\n" + extension.config_rest()
    groups = extension.settings_groups()
    assert [cls for _, _, cls in groups] == list(SETTINGS_CLASSES)
    assert groups[0][0] == "Core"
    owners = {p.name for p in plugins.installed() if p.settings}
    assert {title.lower() for title, _, _ in groups[1:]} == owners
    headings = [text.index(f"\n{title}\n{'~' * len(title)}\n") for title, _, _ in groups]
    assert headings == sorted(headings)
    for (title, _, cls), start, end in zip(
        groups, headings, [*headings[1:], len(text)], strict=True
    ):
        section = text[start:end]
        keys = re.findall(r"^\.\. data:: (\S+)$", section, re.MULTILINE)
        assert keys == [config_key(f.name) for f in dataclasses.fields(cls)], title


def test_every_config_key_in_the_code_is_a_setting() -> None:
    keys = {config_key(name) for name in all_names()}
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "flask_apierrors").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        # Wildcards (APIERRORS_<NAME>, APIERRORS_MAINTENANCE*) are not keys.
        for match in re.finditer(r"APIERRORS_[A-Z][A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*[*<])", text):
            found.setdefault(match.group(), set()).add(path.name)
    unknown = {key: files for key, files in found.items() if key not in keys}
    assert not unknown, f"Not settings (so not documented): {unknown}"
