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
    called: its declared ``url_prefix`` where its rules use it (after the
    prefixes of the blueprints it is nested in), else the path segments its
    rules share; the folder of a blueprint's one fixed route."""
    rules = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(name + ".") or ("." + name + ".") in rule.endpoint
    ]
    if not rules:
        return None
    wanted = _segments(declared or "")
    found = {_through(_segments(rule), wanted) for rule in rules} if wanted else {None}
    if len(found) == 1 and None not in found:
        return "/" + "/".join(t.cast("list[str]", found.pop()))
    paths = []
    for rule in rules:
        static, variable, _ = rule.partition("<")
        paths.append(_segments(static.rpartition("/")[0] if variable else static))
    # commonprefix compares lists item by item: the segments all rules share.
    common = os.path.commonprefix(paths)
    if len(rules) == 1 and "<" not in rules[0] and len(common) > 1:
        common = common[:-1]  # /ops/health/status: a route, under /ops/health
    return "/" + "/".join(common) if common else None


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _through(rule: list[str], wanted: list[str]) -> tuple[str, ...] | None:
    """The segments of ``rule`` up to and including its first run of
    ``wanted``, or ``None``."""
    for start in range(len(rule) - len(wanted) + 1):
        if rule[start : start + len(wanted)] == wanted:
            return tuple(rule[: start + len(wanted)])
    return None
