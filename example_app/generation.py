"""Background model generation: one thread per uploaded image.

Each image goes through the generation service (:class:`~example_app.services.Generator`);
a failure of the service is retried (``GENERATION_RETRIES`` times, with
backoff, honouring ``Retry-After``), then the file is marked failed with the
error the API will answer for its model: ``FAL_API_ERROR``,
``FAL_RATE_LIMIT``, ``NETWORKEXCEPTION``, ``FALAPIEXCEPTION``,
``PROCESSINGEXCEPTION`` (not an image) or ``PROCESSING_ERROR`` (anything
unexpected, logged with its traceback).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import typing as t

from flask_apierrors import ApiError
from flask_apierrors.correlation import get_correlation_id
from flask_apierrors.state import get_state
from flask_apierrors.upstream import UpstreamError

from . import db
from .errors import ConfigurationException
from .errors import ProcessingException
from .services import Generator
from .services import generation_error
from .services import generation_retry
from .settings import service_url

if t.TYPE_CHECKING:
    import sqlite3

    from flask import Flask

#: Generations running at once in one process.
MAX_PARALLEL: t.Final = 4

_slots = threading.BoundedSemaphore(MAX_PARALLEL)
_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()

_IMAGE_MAGIC: t.Final = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def job_folder(app: Flask, job_id: str) -> str:
    """Where the uploaded images of a job are kept."""
    return os.path.join(app.instance_path, "uploads", job_id)


def image_path(app: Flask, job_id: str, file_id: str, filename: str) -> str:
    """Where an uploaded image is kept."""
    ext = os.path.splitext(filename)[1].lower()
    return os.path.join(job_folder(app, job_id), file_id + ext)


def model_path(app: Flask, job_id: str, file_id: str) -> str:
    """Where a generated model is kept."""
    return os.path.join(app.instance_path, "models", job_id, file_id + ".glb")


def stored_error(e: ApiError) -> dict[str, t.Any]:
    """What is kept of an error, to answer it again later: what the API
    answers for it (the app's catalog fills in status and message)."""
    problem = get_state().ext.problem_for(e)
    return {
        "code": problem.code,
        "status": problem.status,
        "message": problem.message,
        "details": dict(problem.details),
        "headers": dict(e.headers),
    }


def start(app: Flask, job_id: str, file_id: str, filename: str) -> None:
    """Generate the model of one file in a background thread.

    Called in the request that uploads or retries the file: the thread's log
    lines carry that request's correlation id.
    """
    log_ids = {"correlation_id": get_correlation_id() or "-"}
    thread = threading.Thread(
        target=_run,
        args=(app, job_id, file_id, filename, log_ids),
        name=f"generate-{job_id}-{file_id}",
        daemon=True,
    )
    with _threads_lock:
        _threads.add(thread)
    thread.start()


def wait_idle(timeout: float) -> bool:
    """Wait until no generation runs in this process; ``False`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with _threads_lock:
            running = [th for th in _threads if th.is_alive()]
        if not running:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        running[0].join(min(remaining, 0.1))


def _run(app: Flask, job_id: str, file_id: str, filename: str, log_ids: dict[str, str]) -> None:
    try:
        with _slots, app.app_context(), contextlib.closing(db.connect(app)) as conn:
            generate(app, conn, job_id, file_id, filename, log_ids=log_ids)
    except Exception:
        # Even marking the file failed did not work (the database is gone).
        app.logger.exception("Generation of %s/%s failed", job_id, file_id, extra=log_ids)
    finally:
        with _threads_lock:
            _threads.discard(threading.current_thread())


def generate(
    app: Flask,
    conn: sqlite3.Connection,
    job_id: str,
    file_id: str,
    filename: str,
    *,
    log_ids: t.Mapping[str, str] | None = None,
) -> None:
    """Generate one file's model and record the outcome in the database.

    :param log_ids: ``extra`` of the log records (the correlation id of the
        request that started the generation).
    """

    def update(**fields: t.Any) -> None:
        db.update_job_file(conn, job_id, file_id, **fields)

    update(status="processing", progress=0, error=None)
    try:
        with open(image_path(app, job_id, file_id, filename), "rb") as image:
            data = image.read()
        if not data.startswith(_IMAGE_MAGIC):
            raise ProcessingException()
        url = service_url(app.config, "GENERATION_SERVICE_URL")
        if url is None:
            raise ConfigurationException()
        generator = Generator(
            url,
            timeout=float(app.config["UPSTREAM_TIMEOUT"]),
            max_seconds=float(app.config["GENERATION_TIMEOUT"]),
        )
        retry = generation_retry(app.config)
        begin = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            update(attempts=attempt)
            try:
                model = generator.run(filename, data, lambda p: update(progress=p))
                break
            except UpstreamError as e:
                wait = retry.delay(
                    attempt,
                    kind=e.kind,
                    elapsed=time.monotonic() - begin,
                    status=getattr(e, "upstream_status", None),
                    retry_after=getattr(e, "retry_after", None),
                )
                if wait is None:
                    raise generation_error(e) from e
                time.sleep(wait)
        path = model_path(app, job_id, file_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(model)
        update(status="completed", progress=100)
    except ApiError as e:
        # The service failed, not this app: a warning, with what the client
        # will be told.
        error = stored_error(e)
        app.logger.warning(
            "Generation of %s/%s failed: %s %s",
            job_id,
            file_id,
            error["status"],
            error["code"],
            extra=log_ids,
        )
        update(status="failed", error=error)
    except Exception:
        app.logger.exception(
            "Generation of %s/%s failed unexpectedly", job_id, file_id, extra=log_ids
        )
        update(
            status="failed",
            error={"code": "PROCESSING_ERROR", "status": 500, "message": "Internal error"},
        )
