"""Sphinx configuration of the flask-apierrors docs.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html``. No
intersphinx: the build never reaches the network.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as _version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "flask-apierrors"
copyright = "flask-apierrors developers"
author = "flask-apierrors developers"
release = _version("flask-apierrors")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "apierrors_docs",
]

root_doc = "index"
exclude_patterns = ["_build"]
nitpicky = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True

html_theme = "alabaster"
html_title = f"flask-apierrors {release}"
html_static_path: list[str] = []
