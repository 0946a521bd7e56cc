#!/usr/bin/env bash
# Create .venv (if missing) and install the package in editable mode with every extra the
# tests and the example app need. Installs again only when setup.cfg or pyproject.toml
# changed since the last install (their hash is kept in .venv), so a second run takes
# well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
STAMP=.venv/.deps.sha256
wanted="$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" = "$wanted" ] \
    && .venv/bin/python -c 'import importlib.metadata as m; m.version("flask-apierrors")' 2>/dev/null; then
    exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[all,example,dev]"
echo "$wanted" >"$STAMP"
