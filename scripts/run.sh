#!/usr/bin/env bash
# Set up everything and serve the example app under gunicorn on 127.0.0.1:${PORT:-8000},
# with its embedded defaults (SQLite under ./instance, in-memory rate limits).
set -euo pipefail
cd "$(dirname "$0")/.."
# gunicorn reads WEB_CONCURRENCY itself, before its configuration file: a
# value that is not a number would stop it with a traceback.
case "${WEB_CONCURRENCY-1}" in
    "" | *[!0-9]*)
        echo "example_app: WEB_CONCURRENCY must be a whole number from 1 to 1024, not '${WEB_CONCURRENCY}'." >&2
        exit 1
        ;;
esac
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
exec gunicorn -c example_app/gunicorn.conf.py --bind "127.0.0.1:${PORT:-8000}" example_app.wsgi:app
