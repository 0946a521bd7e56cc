"""What a batch upload must be before anything of it is stored: how many
files, their names and their sizes, each refused with the image-to-model
API's documented error."""

from __future__ import annotations

import os
import typing as t
import unicodedata

from flask import request

from flask_apierrors import ApiError
from flask_apierrors.state import get_state

if t.TYPE_CHECKING:
    from werkzeug.datastructures import FileStorage

ALLOWED_FORMATS: t.Final = ("jpg", "jpeg", "png")
#: The longest file name an upload may have, in bytes of UTF-8: what most
#: file systems allow. The generation service gets the name in a header.
MAX_NAME_BYTES: t.Final = 255


def sizes(uploads: t.Sequence[FileStorage], limit: int, max_size: int) -> list[int]:
    """The size of each of ``uploads``, once all of them are acceptable."""
    if not uploads:
        missing = {"field": "files", "message": "Field required", "invalid_value": None}
        raise ApiError("validation_error", details={"validation_errors": [missing]})
    if len(uploads) > limit:
        raise ApiError(
            "TOO_MANY_FILES",
            f"Maximum {limit} files allowed per batch",
            details={"provided": len(uploads), "limit": limit},
        )
    found = []
    for upload in uploads:
        name = upload.filename or ""
        check_name(name)
        size = upload.stream.seek(0, os.SEEK_END)
        upload.stream.seek(0)
        if size > max_size:
            raise ApiError(
                "FILE_TOO_LARGE",
                f"File size exceeds {max_size / (1024 * 1024):g}MB limit",
                details={"file_size": size, "max_size": max_size},
            )
        found.append(size)
    return found


def _bad_name(name: str, message: str) -> ApiError:
    """The ``VALIDATION_ERROR`` of a file name, echoed as the extension
    echoes a submitted value: cut at ``max_value_length`` characters."""
    limit = get_state().settings_for(request.blueprints, request.path).max_value_length
    echoed = name if len(name) <= limit else name[:limit] + "...[truncated]"
    invalid = {"field": "files", "message": message, "invalid_value": echoed}
    return ApiError("validation_error", details={"validation_errors": [invalid]})


def check_name(name: str) -> None:
    """Refuse a file name that is too long, holds a control character or
    names no allowed format, before anything is stored."""
    # Checked first: the generation service gets the name in a header, and
    # a name that long is the client's error, not the service's.
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise _bad_name(name, f"File name must be at most {MAX_NAME_BYTES} bytes (UTF-8)")
    if any(unicodedata.category(c) == "Cc" for c in name):
        # A NUL, a newline ...: no file is named so by accident.
        raise _bad_name(name, "File name must not contain control characters")
    if name.rpartition(".")[2].lower() not in ALLOWED_FORMATS or "." not in name:
        raise ApiError(
            "validation_error",
            "Invalid file format",
            details={"file": name, "allowed_formats": list(ALLOWED_FORMATS)},
        )
