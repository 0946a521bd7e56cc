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

# furo: made for API docs, and readable in a narrow window; wide.css gives
# code blocks and signatures the width of a 1280 px window.
html_theme = "furo"
html_title = f"flask-apierrors {release}"
html_static_path = ["_static"]
html_css_files = ["wide.css"]
