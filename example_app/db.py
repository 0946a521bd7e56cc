"""SQLite storage (the standard library's sqlite3): API keys, chat files,
image jobs and a small settings table, in one file under the instance folder.

Every function takes an open connection, so views (one connection per
request, :func:`get_db`) and the background generator (its own connection,
:func:`connect`) share the code. A failed statement raises
:class:`StoreError`, which names the operation and table and hides the
driver's text from clients.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
import typing as t
from datetime import datetime
from datetime import timezone

from flask import current_app
from flask import g

from flask_apierrors import ApiError
from flask_apierrors.availability import InsufficientStorageError
from flask_apierrors.correlation import current_state
from flask_apierrors.correlation import new_id

if t.TYPE_CHECKING:
    from flask import Flask

SCHEMA: t.Final = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    is_admin INTEGER NOT NULL DEFAULT 0,
    rate_limit INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    deactivated_at TEXT
);
CREATE TABLE IF NOT EXISTS files (
    file_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ready_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_files (
    job_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    status TEXT NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (job_id, file_id)
);
CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class StoreError(ApiError):
    """A database statement failed: the chat API's
    ``database_error`` (500) with the operation, the table and an error id
    that is also in the log line."""

    error_code = "database_error"
    status = 500
    message = "Database operation failed"

    def __init__(self, operation: str, table: str) -> None:
        error_id = new_id("db_err_")
        found = current_state()
        if found is not None:
            # The id in the body is the id the log line carries.
            found[0].error_id = error_id
        super().__init__(details={"operation": operation, "table": table, "error_id": error_id})


def utcnow() -> str:
    """Now, ISO 8601 UTC with ``Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def database_path(app: Flask) -> str:
    return os.path.join(app.instance_path, "example_app.sqlite3")


def connect(app: Flask) -> sqlite3.Connection:
    """A new connection to the app's database (WAL mode: readers never wait
    for the writer, which matters with several gunicorn workers).

    :raises StoreError: the database cannot be opened (its folder is gone,
        its path is a directory ...), like a failed statement.
    """
    with statement("connect", "database"):
        conn = sqlite3.connect(
            database_path(app),
            timeout=float(app.config["DB_TIMEOUT"]),
            isolation_level=None,
            check_same_thread=False,
        )
    conn.row_factory = sqlite3.Row
    return conn


def init_db(app: Flask) -> None:
    """Create the instance folder, the tables and WAL mode (idempotent).

    gunicorn workers booting together race for a new database, and SQLite
    answers "database is locked" at once, without its busy timeout, to the
    connection whose lock upgrade would deadlock (switching to WAL needs an
    exclusive lock). The loser tries again, for up to ``DB_TIMEOUT``
    seconds, instead of failing its worker's boot."""
    os.makedirs(app.instance_path, exist_ok=True)
    deadline = time.monotonic() + float(app.config["DB_TIMEOUT"])
    delay = 0.01
    while True:
        try:
            with contextlib.closing(connect(app)) as conn:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def get_db() -> sqlite3.Connection:
    """This request's connection, opened on first use."""
    conn: sqlite3.Connection | None = g.get("_db")
    if conn is None:
        conn = g._db = connect(current_app._get_current_object())  # type: ignore[attr-defined]
    return conn


def close_db(exc: BaseException | None = None) -> None:
    conn: sqlite3.Connection | None = g.pop("_db", None)
    if conn is not None:
        conn.close()


@contextlib.contextmanager
def statement(operation: str, table: str) -> t.Iterator[None]:
    """Turn a driver error into :class:`StoreError` naming what failed."""
    try:
        yield
    except sqlite3.Error as e:
        raise StoreError(operation, table) from e


def _row(row: sqlite3.Row | None) -> dict[str, t.Any] | None:
    return dict(row) if row is not None else None


# -- API keys -----------------------------------------------------------------


def hash_key(key: str) -> str:
    """Keys are stored as SHA-256 digests, never in clear."""
    return hashlib.sha256(key.encode()).hexdigest()


def insert_key(
    conn: sqlite3.Connection, key_id: str, key: str, *, is_admin: bool, rate_limit: int
) -> None:
    with statement("insert", "api_keys"):
        conn.execute(
            "INSERT INTO api_keys (key_id, key_hash, is_admin, rate_limit, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (key_id, hash_key(key), int(is_admin), rate_limit, utcnow()),
        )


def key_by_secret(conn: sqlite3.Connection, key: str) -> dict[str, t.Any] | None:
    with statement("select", "api_keys"):
        row = conn.execute("SELECT * FROM api_keys WHERE key_hash = ?", (hash_key(key),)).fetchone()
    return _row(row)


def key_by_id(conn: sqlite3.Connection, key_id: str) -> dict[str, t.Any] | None:
    with statement("select", "api_keys"):
        row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    return _row(row)


def any_key(conn: sqlite3.Connection) -> bool:
    with statement("select", "api_keys"):
        return conn.execute("SELECT 1 FROM api_keys LIMIT 1").fetchone() is not None


def deactivate_key(conn: sqlite3.Connection, key_id: str) -> str:
    """Deactivate a key (once); returns when it was deactivated."""
    now = utcnow()
    with statement("update", "api_keys"):
        conn.execute(
            "UPDATE api_keys SET deactivated_at = ? WHERE key_id = ? AND deactivated_at IS NULL",
            (now, key_id),
        )
        row = conn.execute(
            "SELECT deactivated_at FROM api_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
    return str(row["deactivated_at"]) if row is not None else now


# -- chat files ---------------------------------------------------------------


def insert_file(conn: sqlite3.Connection, record: t.Mapping[str, t.Any]) -> None:
    with statement("insert", "files"):
        conn.execute(
            "INSERT INTO files (file_id, owner, filename, content_type, size, sha256,"
            " created_at, ready_at) VALUES (:file_id, :owner, :filename, :content_type,"
            " :size, :sha256, :created_at, :ready_at)",
            dict(record),
        )


def get_file(conn: sqlite3.Connection, file_id: str) -> dict[str, t.Any] | None:
    with statement("select", "files"):
        row = conn.execute("SELECT * FROM files WHERE file_id = ?", (file_id,)).fetchone()
    return _row(row)


def delete_file(conn: sqlite3.Connection, file_id: str) -> None:
    with statement("delete", "files"):
        conn.execute("DELETE FROM files WHERE file_id = ?", (file_id,))


def stored_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of every upload kept on disk (chat files and batch images)."""
    with statement("select", "files"):
        files = conn.execute("SELECT COALESCE(SUM(size), 0) FROM files").fetchone()[0]
        images = conn.execute("SELECT COALESCE(SUM(size), 0) FROM job_files").fetchone()[0]
    return int(files) + int(images)


def check_quota(conn: sqlite3.Connection, required: int, code: str) -> None:
    """Raise the 507 ``code`` (``STORAGE_ERROR``, ``insufficient_storage``)
    when ``required`` more bytes would pass ``STORAGE_QUOTA``."""
    available = max(0, int(current_app.config["STORAGE_QUOTA"]) - stored_bytes(conn))
    if required > available:
        raise InsufficientStorageError(required=required, available=available, error_code=code)


# -- image jobs ---------------------------------------------------------------


def insert_job(
    conn: sqlite3.Connection, job_id: str, owner: str, files: t.Sequence[t.Mapping[str, t.Any]]
) -> None:
    now = utcnow()
    with statement("insert", "jobs"):
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO jobs (job_id, owner, created_at) VALUES (?, ?, ?)",
                (job_id, owner, now),
            )
            conn.executemany(
                "INSERT INTO job_files (job_id, file_id, filename, size, status, updated_at)"
                " VALUES (?, ?, ?, ?, 'queued', ?)",
                [(job_id, f["file_id"], f["filename"], f["size"], now) for f in files],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def get_job(conn: sqlite3.Connection, job_id: str) -> dict[str, t.Any] | None:
    with statement("select", "jobs"):
        row = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
    return _row(row)


def job_files(conn: sqlite3.Connection, job_id: str) -> list[dict[str, t.Any]]:
    with statement("select", "job_files"):
        rows = conn.execute(
            "SELECT * FROM job_files WHERE job_id = ? ORDER BY file_id", (job_id,)
        ).fetchall()
    return [_decoded(dict(row)) for row in rows]


def job_file(conn: sqlite3.Connection, job_id: str, file_id: str) -> dict[str, t.Any] | None:
    with statement("select", "job_files"):
        row = conn.execute(
            "SELECT * FROM job_files WHERE job_id = ? AND file_id = ?", (job_id, file_id)
        ).fetchone()
    return _decoded(dict(row)) if row is not None else None


def _decoded(record: dict[str, t.Any]) -> dict[str, t.Any]:
    record["error"] = json.loads(record["error"]) if record["error"] else None
    return record


def update_job_file(
    conn: sqlite3.Connection,
    job_id: str,
    file_id: str,
    *,
    expect: t.Mapping[str, t.Any] | None = None,
    **fields: t.Any,
) -> bool:
    """Set ``status``, ``progress``, ``attempts`` and/or ``error`` (a dict,
    stored as JSON) of one file of a job.

    :param expect: Columns the row must still have (``status``,
        ``updated_at`` ...): of two requests that read the same row, only
        one changes it.
    :returns: Whether the row was changed.
    """
    if "error" in fields and fields["error"] is not None:
        fields["error"] = json.dumps(fields["error"])
    fields["updated_at"] = utcnow()
    columns = ", ".join(f"{name} = :{name}" for name in fields)
    where = "".join(f" AND {name} = :expect_{name}" for name in expect or {})
    params = {f"expect_{name}": value for name, value in (expect or {}).items()}
    with statement("update", "job_files"):
        cursor = conn.execute(
            f"UPDATE job_files SET {columns} WHERE job_id = :job_id AND file_id = :file_id{where}",
            {**fields, **params, "job_id": job_id, "file_id": file_id},
        )
    return cursor.rowcount > 0


# -- settings -----------------------------------------------------------------


def get_setting(conn: sqlite3.Connection, name: str) -> t.Any:
    with statement("select", "settings"):
        row = conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
    return json.loads(row["value"]) if row is not None else None


def set_setting(conn: sqlite3.Connection, name: str, value: t.Any) -> None:
    with statement("upsert", "settings"):
        conn.execute(
            "INSERT INTO settings (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )
