"""Plug-ins: how features and other packages add error sources to the core.

A plug-in is a :class:`Plugin`, published under the ``flask_apierrors.plugins``
entry-point group of its distribution (this package publishes its own
features the same way, see ``setup.cfg``)::

    [options.entry_points]
    flask_apierrors.plugins =
        mylib = mylib.apierrors:plugin

The entry point names a callable returning the :class:`Plugin`, or ``None``
when the library it integrates is not installed. Every plug-in found is
loaded once per process, when the first :class:`~flask_apierrors.ApiErrors`
is created; its :attr:`Plugin.setup` then runs at the end of each
``init_app``, with the app's :class:`~flask_apierrors.state.AppState`, and
uses only that object's public methods (``register_converter``,
``add_header_fixer``, ``settings_of`` ...). The core imports no feature.

.. versionadded:: 0.2
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import typing as t
from importlib.metadata import entry_points

if t.TYPE_CHECKING:
    from .state import AppState

GROUP: t.Final = "flask_apierrors.plugins"

logger = logging.getLogger("flask_apierrors")


@dataclasses.dataclass(frozen=True, slots=True)
class Plugin:
    """What a plug-in brings.

    :param name: A short name (the entry point's).
    :param settings: Settings classes the plug-in declares
        (:func:`~flask_apierrors.config.register_settings` is applied to them).
    :param setup: Called with the :class:`~flask_apierrors.state.AppState`
        at the end of every ``init_app``.
    :param order: Plug-ins set up in increasing order, then by name; their
        converters are tried in the same order.
    """

    name: str
    settings: tuple[type[t.Any], ...] = ()
    setup: t.Callable[[AppState], None] | None = None
    order: int = 100


_lock = threading.Lock()
_loaded: tuple[Plugin, ...] | None = None


def installed() -> tuple[Plugin, ...]:
    """Every plug-in of the ``flask_apierrors.plugins`` group whose library is
    installed, loaded on first call."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = _load()
    return _loaded


def _load() -> tuple[Plugin, ...]:
    from .config import register_settings

    found: list[Plugin] = []
    for ep in entry_points(group=GROUP):
        factory = ep.load()
        plugin = factory() if callable(factory) and not isinstance(factory, Plugin) else factory
        if plugin is None:
            continue  # its library is not installed
        if not isinstance(plugin, Plugin):
            raise TypeError(f"Entry point {ep.name!r} of {GROUP} gave no Plugin: {plugin!r}")
        for cls in plugin.settings:
            register_settings(cls)
        found.append(plugin)
    found.sort(key=lambda p: (p.order, p.name))
    logger.debug("flask-apierrors plug-ins: %s", ", ".join(p.name for p in found) or "none")
    return tuple(found)
