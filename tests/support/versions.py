"""Which release of a dependency is installed (for tests of behaviours
that older releases of it lack)."""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version


def older_than(distribution: str, release: str) -> bool:
    """Whether the installed ``distribution`` is older than ``release``."""
    return Version(version(distribution)) < Version(release)
