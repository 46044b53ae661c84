"""The case store on PostgreSQL (asyncpg, no ORM): cases, their history and the outbox, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from services.case.domain import NewCase
from services.case.exceptions import DuplicateCase, UnstorableCase


@dataclass(frozen=True)
class StoredCase:
    """A case as the back office sees it (no personal data in this view)."""

    case_id: str
    request_id: str
    case_type: str
    department: str
    subject_code: str
    status: str
    due_date: dt.date
    party_pseudonym: str | None


@dataclass(frozen=True)
class PendingMessage:
    id: int
    topic: str
    key: str
    payload: bytes


_INSERT_CASE = """
INSERT INTO cases (case_id, request_id, question_id, case_type, department, subject_code, channel,
                   party_pseudonym, party, question, priority, due_date, requested_at, opened_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""


class PgCaseStore:
    """Cases in PostgreSQL. ``add`` is idempotent on the request's event id (unique constraint)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, case: NewCase) -> None:
        data = case.request.data
        party = data.party.personal.model_dump_json(exclude_none=True) if data.party and data.party.personal else None
        async with self._pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    _INSERT_CASE, data.case_id, case.request.id, data.question_id, data.case_type, data.department,
                    data.subject_code, data.channel.value, data.party.pseudonym if data.party else None, party,
                    data.question, data.priority, data.due_date, data.requested_at, case.opened_at,
                )
            except asyncpg.UniqueViolationError as exc:
                raise DuplicateCase(data.case_id) from exc
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
                # Bad data, not a bad connection: redelivery would fail the same way forever.
                raise UnstorableCase(type(exc).__name__) from exc
            await conn.execute(
                "INSERT INTO case_status_history (case_id, status, changed_at, changed_by) VALUES ($1, $2, $3, $4)",
                data.case_id, "registered", case.opened_at, "loket-cases",
            )
            await conn.executemany(
                "INSERT INTO outbox (topic, message_key, payload) VALUES ($1, $2, $3)",
                [(m.topic.name, m.key, m.payload.decode()) for m in case.announcements],
            )

    async def get(self, case_id: str) -> StoredCase | None:
        row = await self._pool.fetchrow(
            "SELECT case_id, request_id, case_type, department, subject_code, status, due_date, party_pseudonym"
            " FROM cases WHERE case_id = $1",
            case_id,
        )
        return StoredCase(**dict(row)) if row else None


class PgOutbox:
    """Publishes outbox rows in id order and marks them published, under row locks (SKIP LOCKED)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def relay(self, publish: Callable[[list[PendingMessage]], Awaitable[None]], limit: int = 500) -> int:
        """Hand up to ``limit`` pending messages to ``publish``; mark them only once it returns."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, topic, message_key, payload FROM outbox WHERE published_at IS NULL"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                limit,
            )
            if not rows:
                return 0
            await publish([PendingMessage(r["id"], r["topic"], r["message_key"], r["payload"].encode()) for r in rows])
            await conn.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows])
            return len(rows)
