"""The flask-apierrors contender as a WSGI app for gunicorn.

``BENCH_LIMITER_STORAGE`` selects flask-limiter's storage (default
``memory://``; a ``redis://`` URI shares the counts across workers)::

    gunicorn --bind 127.0.0.1:8000 --workers 2 benchmarks.wsgi:app
"""

from __future__ import annotations

import os

from benchmarks.contenders import make_apierrors

app = make_apierrors(storage_uri=os.environ.get("BENCH_LIMITER_STORAGE", "memory://"))
