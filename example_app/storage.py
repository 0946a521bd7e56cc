"""Uploads on disk, for both APIs.

An upload's bytes are written, then its database record is inserted; when
either fails, the bytes are removed again (:func:`removed_on_failure`):
bytes no record points to would never be served nor deleted, and
``STORAGE_QUOTA``, which counts the records, would never see them.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import typing as t

from flask import current_app
from flask import request

from flask_apierrors.availability import InsufficientStorageError

if t.TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

V = t.TypeVar("V", bound=t.Callable[..., t.Any])

#: Content types the chat API's ``POST /files`` accepts.
SUPPORTED_TYPES: t.Final = (
    "text/plain",
    "text/markdown",
    "application/pdf",
    "image/jpeg",
    "image/png",
)

#: What a full disk looks like to a write: no space left, a disk quota, a
#: file size limit.
_FULL: t.Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def upload_limit(view: V) -> V:
    """Allow a body of twice the chat API's file limit on an upload route
    (before :func:`~flask_apierrors.use_schema` reads it), so an oversized
    file gets its precise 413."""

    @functools.wraps(view)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        request.max_content_length = 2 * int(current_app.config["MAX_FILE_BYTES"])
        return view(*args, **kwargs)

    return t.cast(V, wrapper)


def chat_file_path(file_id: str) -> str:
    """Where a file of the chat API is kept."""
    return os.path.join(current_app.instance_path, "files", file_id)


def write(path: str, data: bytes | FileStorage) -> None:
    """Write an upload at ``path``, making its folder."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if isinstance(data, bytes):
        with open(path, "wb") as f:
            f.write(data)
    else:
        data.save(path)


def write_chat_file(path: str, data: bytes) -> None:
    """:func:`write` a file of the chat API. A full disk is that API's 507
    ``insufficient_storage``: ``available`` is what the disk took of the
    file before it refused the rest."""
    try:
        write(path, data)
    except OSError as e:
        if e.errno not in _FULL:
            raise
        taken = os.path.getsize(path) if os.path.isfile(path) else 0
        raise InsufficientStorageError(required=len(data), available=taken) from e


def remove(path: str) -> None:
    """Remove the file, or the folder and all it holds, at ``path``, if there."""
    if os.path.isdir(path):
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


@contextlib.contextmanager
def removed_on_failure(path: str) -> t.Iterator[str]:
    """Write an upload at ``path`` (a file, or a folder of files) and insert
    its record in the block: if the block fails, ``path`` is removed."""
    try:
        yield path
    except BaseException:
        # The failure of the upload is what the client hears about.
        with contextlib.suppress(OSError):
            remove(path)
        raise
