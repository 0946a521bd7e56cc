"""One log line shape for everything the example app runs: its own records,
flask-apierrors', Werkzeug's and gunicorn's error and access logs::

    2023-12-01T10:00:00.123Z WARNING example_app [req_3f2a9c61d0b7e845 -] 404 JOB_NOT_FOUND: ...

time (UTC, like the bodies' ``timestamp``), level, logger, correlation id and
error id (``-`` outside a request, or when there is no error id), message.
:class:`~flask_apierrors.correlation.CorrelationIdFilter` provides the ids; for
gunicorn's access lines, the correlation id is the response's ``X-Request-ID``.

gunicorn applies :func:`logging_config` from ``example_app/gunicorn.conf.py``
(``logconfig_dict``) before it forks the workers; the development server and
the ``flask`` commands get it from :func:`init_logging`. Tests, which capture
logs themselves, are left alone.
"""

from __future__ import annotations

import logging
import logging.config
import time
import typing as t

#: The format of every line.
FORMAT: t.Final = "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s %(error_id)s] %(message)s"


class UTCFormatter(logging.Formatter):
    """ISO 8601 times in UTC with milliseconds: ``2023-12-01T10:00:00.123Z``."""

    converter: t.Callable[[float | None], time.struct_time] = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class AccessLogIds(logging.Filter):
    """Gives gunicorn's access records the correlation id of their response
    (its ``X-Request-ID`` header): they are written after the request ended."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args
        if not hasattr(record, "correlation_id") and isinstance(atoms, t.Mapping):
            record.correlation_id = atoms.get("{x-request-id}o") or "-"
        return True


def logging_config(level: str = "INFO") -> dict[str, t.Any]:
    """A :func:`logging.config.dictConfig` dictionary: every record as one
    :data:`FORMAT` line, gunicorn's access lines on stdout, the rest on
    stderr, as gunicorn writes them with ``--access-logfile -``."""
    ids = "flask_apierrors.correlation.CorrelationIdFilter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "ids": {"()": ids},
            "access_ids": {"()": f"{__name__}.AccessLogIds"},
        },
        "formatters": {"line": {"()": f"{__name__}.UTCFormatter", "format": FORMAT}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "filters": ["ids"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                # The access filter first: the ids filter keeps what is set.
                "filters": ["access_ids", "ids"],
                "stream": "ext://sys.stdout",
            },
        },
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }


def init_logging() -> None:
    """Apply :func:`logging_config` unless logging is configured already
    (by gunicorn, a test runner, or the program that imports the app).

    Called by :func:`~example_app.create_app` before Flask creates the app's
    logger, so that Flask adds no handler of its own and the app's records
    reach the root logger's.
    """
    if logging.getLogger().handlers:
        return
    logging.config.dictConfig(logging_config())
