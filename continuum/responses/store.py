"""Stored Responses in the SQL database (SQLite or PostgreSQL, so replicas share them).

A stored response belongs to the key that made it: every read and delete names the
owner, and another owner's response does not exist for the caller (``NotFound``). The
store keeps JSON bytes and knows no wire shape; the Responses dialect makes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, select

from continuum.errors import NotFound
from continuum.store.database import Database, state_errors
from continuum.store.tables import responses

WHAT = "the response store"


def no_such_response(response_id: str) -> NotFound:
    return NotFound(f"Response with id '{response_id}' not found.", param="response_id")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """One stored response: its Response object and the input it answered, as JSON."""

    id: str
    status: str
    body: bytes  # the Response object
    input: bytes  # a JSON list of input items


class ResponseStore:
    """Saves, reads and deletes stored responses; database failures are ``StateUnavailable``."""

    def __init__(self, database: Database):
        self._db = database

    async def save(self, owner: str, created: float, stored: StoredResponse) -> None:
        row = {
            "id": stored.id,
            "owner": owner,
            "created": created,
            "status": stored.status,
            "body": stored.body.decode(),
            "input": stored.input.decode(),
        }
        with state_errors(WHAT):
            async with self._db.engine.begin() as conn:
                await conn.execute(insert(responses).values(**row))

    async def get(self, owner: str, response_id: str) -> StoredResponse:
        """The owner's response; ``NotFound`` for an unknown id or another owner's."""
        query = select(
            responses.c.id, responses.c.status, responses.c.body, responses.c.input
        ).where(and_(responses.c.id == response_id, responses.c.owner == owner))
        with state_errors(WHAT):
            async with self._db.engine.connect() as conn:
                row = (await conn.execute(query)).first()
        if row is None:
            raise no_such_response(response_id)
        return StoredResponse(row.id, row.status, row.body.encode(), row.input.encode())

    async def delete(self, owner: str, response_id: str) -> None:
        """Forget the owner's response; ``NotFound`` if the owner has no such response."""
        query = delete(responses).where(
            and_(responses.c.id == response_id, responses.c.owner == owner)
        )
        with state_errors(WHAT):
            async with self._db.engine.begin() as conn:
                deleted = (await conn.execute(query)).rowcount
        if not deleted:
            raise no_such_response(response_id)
