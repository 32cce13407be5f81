"""The File object of OpenAI's Files API, its list page, and the rules on what a caller sends.

The shapes follow ``OpenAIFile``, ``ListFilesResponse`` and ``DeleteFileResponse`` of the
official OpenAPI document; ``to_dict`` gives them as the wire expects.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from typing import Any, Literal

from continuum.errors import InvalidRequest, NotFound

# What an upload may declare (CreateFileRequest.purpose). Listing filters on any string,
# so the output purposes OpenAI itself writes (``batch_output``…) are simply never found.
PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
MAX_LIMIT = 10_000
# CreateFileRequest.expires_after.seconds: one hour to thirty days.
MIN_EXPIRY, MAX_EXPIRY = 3600, 2_592_000
MAX_FILENAME = 1024

Order = Literal["asc", "desc"]

_ALPHABET = string.ascii_letters + string.digits


def new_file_id() -> str:
    """``file-`` and 24 random letters and digits (143 bits), the look of OpenAI's ids."""
    return "file-" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


@dataclass(frozen=True, slots=True)
class FileObject:
    """One stored file, as the Files API describes it."""

    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    expires_at: int | None = None
    status: str = "processed"  # deprecated by OpenAI but still required by its schema
    object: Literal["file"] = field(default="file", init=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``OpenAIFile`` body; ``expires_at`` only when the file expires."""
        body: dict[str, Any] = {
            "id": self.id,
            "object": self.object,
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status,
        }
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at
        return body


@dataclass(frozen=True, slots=True)
class FilePage:
    """One page of a listing; ``has_more`` says whether ``after=last_id`` finds more."""

    data: list[FileObject]
    has_more: bool

    @property
    def first_id(self) -> str | None:
        return self.data[0].id if self.data else None

    @property
    def last_id(self) -> str | None:
        return self.data[-1].id if self.data else None

    def to_dict(self) -> dict[str, Any]:
        """The ``ListFilesResponse`` body (``first_id``/``last_id`` are null on an empty page)."""
        return {
            "object": "list",
            "data": [item.to_dict() for item in self.data],
            "first_id": self.first_id,
            "last_id": self.last_id,
            "has_more": self.has_more,
        }


@dataclass(frozen=True, slots=True)
class FileDeleted:
    """The answer to a delete."""

    id: str
    deleted: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The ``DeleteFileResponse`` body."""
        return {"id": self.id, "object": "file", "deleted": self.deleted}


def check_upload(filename: str, purpose: str, expires_after: int | None) -> None:
    """Refuse what an upload may not declare, before a byte of it is stored."""
    if purpose not in PURPOSES:
        raise InvalidRequest(
            f"'{purpose}' is not a valid purpose; use one of: {', '.join(PURPOSES)}",
            param="purpose",
        )
    if not filename or len(filename) > MAX_FILENAME or "\0" in filename:
        raise InvalidRequest(
            f"the file needs a name of 1 to {MAX_FILENAME} characters", param="file"
        )
    if expires_after is not None and not MIN_EXPIRY <= expires_after <= MAX_EXPIRY:
        raise InvalidRequest(
            f"expires_after.seconds must be between {MIN_EXPIRY} and {MAX_EXPIRY}",
            param="expires_after.seconds",
        )


def check_listing(limit: int, order: str) -> None:
    """Refuse a listing's out-of-range ``limit`` or unknown ``order``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidRequest(f"limit must be between 1 and {MAX_LIMIT}", param="limit")
    if order not in ("asc", "desc"):
        raise InvalidRequest("order must be 'asc' or 'desc'", param="order")


def no_such_file(file_id: str) -> NotFound:
    """The one answer for a file that does not exist, expired, or belongs to someone else."""
    return NotFound(f"No such File object: {file_id}", param="file_id")
