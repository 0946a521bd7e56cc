"""Sphinx directives that write parts of the docs from the code, so they
cannot drift from it.

``.. apierrors-reference:: [module:factory]``
    The error reference of the built-in catalog (or of the app the factory
    returns), by :mod:`flask_apierrors.docgen`.
``.. apierrors-config::``
    A ``.. data::`` entry per ``APIERRORS_*`` key of every settings class,
    the core's and each feature plug-in's, grouped by owner: its description
    (the ``#:`` comment above the field), default and keyword twin.
``.. apierrors-example:: CODE``
    The body of a catalog code's example in a format (``:format:``).

It also has autodoc show the real types in signatures (``Any``,
``Mapping[str, Any]``, ``Flask``) instead of the source's annotation strings
(``t.Any``): see :func:`resolve_annotations`.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import importlib
import inspect
import json
import pkgutil
import sys
import types
import typing as t

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective
from sphinx.util.typing import stringify_annotation

from flask_apierrors import Catalog
from flask_apierrors import docgen
from flask_apierrors import plugins
from flask_apierrors.config import Settings
from flask_apierrors.config import config_key
from flask_apierrors.config import merged
from flask_apierrors.config import settings_classes

if t.TYPE_CHECKING:
    from sphinx.application import Sphinx


def _reference(target: str | None) -> docgen.Reference:
    if not target:
        return docgen.Reference.from_settings(api_name="An app with the built-in catalog")
    module_name, _, attr = target.partition(":")
    factory = getattr(importlib.import_module(module_name), attr or "create_app")
    return docgen.reference_for_app(factory())


class ReferenceDirective(SphinxDirective):
    """The generated error reference."""

    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        reference = _reference(self.arguments[0] if self.arguments else None)
        text = docgen.to_rest(reference, title=False)
        return self.parse_text_to_nodes(text, allow_section_headings=True)


def _default(field: dataclasses.Field[t.Any]) -> t.Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None  # pragma: no cover - every setting has a default


def settings_groups() -> list[tuple[str, str, type[t.Any]]]:
    """``(title, owner, settings class)`` of every settings class: the
    core's first, then each feature's, once every plug-in is loaded (they
    declare their classes when loaded)."""
    owners = {cls: p.name for p in plugins.installed() for cls in p.settings}
    groups = []
    for cls in settings_classes():
        if cls is Settings:
            groups.append(("Core", "the core (``flask_apierrors.config``)", cls))
            continue
        name = owners.get(cls)
        owner = f"the ``{name}`` plug-in" if name else "a feature"
        title = (name or cls.__name__).replace("_", " ").capitalize()
        groups.append((title, f"{owner} (``{cls.__module__}``)", cls))
    return groups


def config_rest() -> str:
    """The ``.. data::`` entries of every setting, grouped by the settings
    class that declares it, in declaration order."""
    lines: list[str] = []
    for title, owner, cls in settings_groups():
        summary = inspect.cleandoc(cls.__doc__ or "").split("\n\n", 1)[0]
        if cls is not Settings and summary:
            summary = ": " + summary[0].lower() + summary[1:]
        intro = f"Declared by {owner}{summary if cls is not Settings else '.'}"
        lines.extend([title, "~" * len(title), "", intro, ""])
        docs = ModuleAnalyzer.for_module(cls.__module__).find_attr_docs()
        for field in dataclasses.fields(cls):
            about = docs.get((cls.__qualname__, field.name), [])
            lines.append(f".. data:: {config_key(field.name)}")
            lines.append("")
            lines.extend(f"   {line}".rstrip() for line in about if line.strip() or lines[-1])
            if lines[-1]:
                lines.append("")
            lines.append(f"   :Default: ``{_default(field)!r}``")
            lines.append(
                f"   :Keyword: ``{field.name}=`` of :class:`~flask_apierrors.ApiErrors`"
                + (
                    " (app-wide: not for :meth:`~flask_apierrors.ApiErrors.override`)"
                    if field.metadata.get("app_wide")
                    else " and :meth:`~flask_apierrors.ApiErrors.override`"
                )
            )
            lines.append("")
    return "\n".join(lines)


class ConfigDirective(SphinxDirective):
    """A ``.. data::`` entry per ``APIERRORS_*`` key, a section per owner."""

    def run(self) -> list[nodes.Node]:
        return self.parse_text_to_nodes(config_rest(), allow_section_headings=True)


class ExampleDirective(SphinxDirective):
    """A catalog code's example body, rendered by a format."""

    required_arguments = 1
    option_spec: t.ClassVar[dict[str, t.Callable[[str], t.Any]]] = {
        "format": directives.unchanged,
        "uppercase": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        catalog = Catalog.default()
        spec = catalog[self.arguments[0]]
        options: dict[str, t.Any] = {}
        if "format" in self.options:
            options["format"] = self.options["format"]
        if "uppercase" in self.options:
            options["uppercase_codes"] = True
        scope = docgen.Scope(merged(Settings(), options))
        # The body is plain JSON data already: laid out for reading.
        body = json.dumps(docgen.example_body(spec, scope), indent=2, ensure_ascii=False)
        block = nodes.literal_block(body, body, language="json")
        self.set_source_info(block)
        return [block]


def _type_checking_imports(module: types.ModuleType) -> dict[str, t.Any]:
    """The names ``module`` imports under ``if t.TYPE_CHECKING:``."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return {}
    names: dict[str, t.Any] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for stmt in node.body:
                # Type checkers' own modules (_typeshed) do not exist at run time.
                with contextlib.suppress(ImportError, AttributeError):
                    names.update(_imported_names(stmt, module))
    return names


def _imported_names(stmt: ast.stmt, module: types.ModuleType) -> dict[str, t.Any]:
    names: dict[str, t.Any] = {}
    if isinstance(stmt, ast.ImportFrom):
        package = module.__name__ if hasattr(module, "__path__") else module.__package__
        source = importlib.import_module("." * stmt.level + (stmt.module or ""), package)
        for alias in stmt.names:
            names[alias.asname or alias.name] = getattr(source, alias.name)
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            imported = importlib.import_module(alias.name)
            top = alias.name.partition(".")[0]
            names[alias.asname or top] = imported if alias.asname else sys.modules[top]
    return names


def resolve_annotations(app: Sphinx) -> None:
    """Give every module of the package the names it imports only for type
    checkers. The package's annotations are strings (``from __future__
    import annotations``); ``typing.get_type_hints`` evaluates them for
    autodoc, but gives up on a whole signature at its first unknown name, and
    autodoc then shows the raw strings."""
    package = importlib.import_module("flask_apierrors")
    for info in pkgutil.walk_packages(package.__path__, "flask_apierrors."):
        with contextlib.suppress(ImportError):
            importlib.import_module(info.name)
    for name, module in list(sys.modules.items()):
        if name == "flask_apierrors" or name.startswith("flask_apierrors."):
            for attr, value in _type_checking_imports(module).items():
                module.__dict__.setdefault(attr, value)


def record_init_annotations(
    app: Sphinx,
    what: str,
    name: str,
    obj: t.Any,
    options: t.Any,
    signature: str | None,
    return_annotation: str | None,
) -> None:
    """A class's parameters, as its ``__init__`` annotates them: autodoc
    resolves a class's own annotations only, and leaves the strings
    (``t.Mapping[str, t.Any]``) of its constructor's parameters."""
    recorded = app.env.current_document.autodoc_annotations.get(name)
    if not isinstance(obj, type) or not recorded:
        return
    try:
        hints = t.get_type_hints(obj.__init__)
    except Exception:
        return
    for param, hint in hints.items():
        if param in recorded and param != "return":
            recorded[param] = stringify_annotation(hint, "smart")


def setup(app: Sphinx) -> dict[str, t.Any]:
    app.connect("builder-inited", resolve_annotations)
    # After autodoc's own recording (priority 500).
    app.connect("autodoc-process-signature", record_init_annotations, priority=600)
    app.add_directive("apierrors-reference", ReferenceDirective)
    app.add_directive("apierrors-config", ConfigDirective)
    app.add_directive("apierrors-example", ExampleDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
