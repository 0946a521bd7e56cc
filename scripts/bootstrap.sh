#!/usr/bin/env bash
# Create .venv (if missing) and install the package in editable mode with every extra the
# tests and the example app need. Installs again only when setup.cfg or pyproject.toml
# changed since the last install (their hash is kept in .venv), so a second run takes
# well under a second. VENV names another virtualenv, CONSTRAINTS a pip constraints
# file for it (scripts/min-versions.txt: the lowest versions setup.cfg allows).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
CONSTRAINTS="${CONSTRAINTS:-}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
STAMP="$VENV/.deps.sha256"
wanted="$(cat setup.cfg pyproject.toml ${CONSTRAINTS:+"$CONSTRAINTS"} | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" = "$wanted" ] \
    && "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("flask-apierrors")' 2>/dev/null; then
    exit 0
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[all,example,dev]" ${CONSTRAINTS:+-c "$CONSTRAINTS"}
echo "$wanted" >"$STAMP"
