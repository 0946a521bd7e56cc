"""Blueprint overrides: what an override holds, and the URL prefix routing
errors are matched against (learnt when the blueprint is registered, else
derived from the app's URL rules)."""

from __future__ import annotations

import dataclasses
import os
import typing as t
import weakref

if t.TYPE_CHECKING:
    from flask import Blueprint
    from flask import Flask


@dataclasses.dataclass(slots=True, eq=False)
class Override:
    """One ``override(blueprint, **options)``."""

    blueprint: Blueprint
    options: dict[str, t.Any]
    url_prefix: str | None
    #: Prefixes of further registrations (``register_blueprint(bp,
    #: url_prefix="/v2", name="jobs_v2")``).
    more_prefixes: list[str] = dataclasses.field(default_factory=list)


_RECORDED: weakref.WeakSet[Blueprint] = weakref.WeakSet()


def learn_prefix(blueprint: Blueprint, tell: t.Callable[[Flask, str, str], None]) -> None:
    """Have every later registration of ``blueprint`` call ``tell(app, name,
    url_prefix)`` with the prefix it is registered with (one callback per
    blueprint, whichever app registers it)."""
    if blueprint in _RECORDED:
        return

    def remember(setup: t.Any) -> None:
        if setup.url_prefix:
            tell(setup.app, blueprint.name, setup.url_prefix)

    try:
        blueprint.record(remember)
    except AssertionError:
        # Registered already: Flask takes no more setup; the prefix is then
        # derived from the app's URL rules.
        return
    _RECORDED.add(blueprint)


def derive_prefix(app: Flask, name: str, declared: str | None) -> str | None:
    """The URL prefix of a blueprint registered before ``override`` was
    called: its declared ``url_prefix`` if its rules use it, else the common
    path segments of its rules."""
    rules = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(name + ".") or ("." + name + ".") in rule.endpoint
    ]
    if declared and rules and all(r.startswith(declared) for r in rules):
        return declared
    # The folders of each rule's fixed part: a blueprint of one route
    # ``/api/v2/jobs`` is under ``/api/v2``.
    paths = [
        [s for s in rule.partition("<")[0].rpartition("/")[0].split("/") if s] for rule in rules
    ]
    # commonprefix compares lists item by item: the segments all rules share.
    common = os.path.commonprefix(paths)
    return "/" + "/".join(common) if common else None
