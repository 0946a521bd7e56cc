#!/usr/bin/env bash
# Set up everything and serve the example app under gunicorn on 127.0.0.1:${PORT:-8000},
# with its embedded defaults (SQLite under ./instance, in-memory rate limits).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
exec gunicorn -c example_app/gunicorn.conf.py --bind "127.0.0.1:${PORT:-8000}" example_app.wsgi:app
