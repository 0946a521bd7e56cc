#!/usr/bin/env bash
# Set up everything and run the whole test suite: lint, format check, mypy --strict,
# the Sphinx build (warnings are errors) and pytest (unit, integration, gunicorn, Redis);
# then, without arguments, the tests that start no server at the lowest versions
# setup.cfg allows (.venv-min, scripts/min-versions.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server from Debian's packages"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff check"; ruff check .
echo "== ruff format --check"; ruff format --check .
echo "== mypy --strict"; mypy
echo "== import layers"; lint-imports --no-cache
if [ -f docs/conf.py ]; then
    echo "== sphinx (warnings are errors)"
    sphinx-build -q -W --keep-going -b html docs docs/_build/html
fi
echo "== pytest"
HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" python -m pytest -p no:cacheprovider \
    --cov=flask_apierrors --cov-branch --cov-report=term:skip-covered "$@"
if [ "$#" -eq 0 ]; then
    echo "== pytest at the lowest versions (scripts/min-versions.txt, no servers)"
    VENV=.venv-min CONSTRAINTS=scripts/min-versions.txt bash scripts/bootstrap.sh
    HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}" .venv-min/bin/python -m pytest \
        -p no:cacheprovider -q -m "not slow"
fi
