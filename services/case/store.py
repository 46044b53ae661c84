"""The case store on PostgreSQL (asyncpg, no ORM): a batch of cases, their history and the outbox in one
transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from services.case.domain import NewCase


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
class Stored:
    """What storing a batch did: the cases it opened, and the requests PostgreSQL refused (by request id, with
    the reason). A request stored before (a redelivery) is in neither."""

    opened: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingMessage:
    id: int
    topic: str
    key: str
    payload: bytes


#: The columns of a case row, in ``case_row``'s order.
CASE_COLUMNS = ("case_id", "request_id", "question_id", "case_type", "department", "subject_code", "channel",
            "party_pseudonym", "party", "question", "priority", "due_date", "requested_at", "opened_at")
_TYPES = ("text",) * 8 + ("jsonb", "text", "text", "date", "timestamptz", "timestamptz")
# One statement for the whole batch; a request stored before (either unique key) is skipped, not an error.
_INSERT_CASES = f"""
INSERT INTO cases ({", ".join(CASE_COLUMNS)})
SELECT * FROM unnest({", ".join(f"${n}::{t}[]" for n, t in enumerate(_TYPES, start=1))})
ON CONFLICT DO NOTHING
RETURNING case_id
"""
_INSERT_HISTORY = """
INSERT INTO case_status_history (case_id, status, changed_at, changed_by)
SELECT case_id, 'registered', changed_at, 'loket-cases' FROM unnest($1::text[], $2::timestamptz[]) AS t(case_id, changed_at)
"""
_INSERT_OUTBOX = """
INSERT INTO outbox (topic, message_key, payload) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
"""


def case_row(case: NewCase) -> tuple[object, ...]:
    data = case.request.data
    party = data.party.personal.model_dump_json(exclude_none=True) if data.party and data.party.personal else None
    return (data.case_id, case.request.id, data.question_id, data.case_type, data.department, data.subject_code,
            data.channel.value, data.party.pseudonym if data.party else None, party, data.question, data.priority,
            data.due_date, data.requested_at, case.opened_at)


class PgCaseStore:
    """Cases in PostgreSQL. Adding is idempotent on the request's event id and on the case id (unique keys)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_all(self, cases: Sequence[NewCase]) -> Stored:
        """Store a batch of new cases in one transaction. Should PostgreSQL refuse the data of one (not the
        connection: that error is raised), the batch is stored again case by case, leaving out the refused."""
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    return Stored(opened=await self._insert(conn, cases))
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError):
                pass
            stored = Stored()
            async with conn.transaction():
                for case in cases:
                    try:
                        async with conn.transaction():  # a savepoint: one refused case undoes only itself
                            stored.opened.extend(await self._insert(conn, [case]))
                    except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError) as exc:
                        # Bad data, not a bad connection: redelivery would fail the same way forever.
                        stored.refused[case.request.id] = type(exc).__name__
            return stored

    @staticmethod
    async def _insert(conn: asyncpg.Connection, cases: Sequence[NewCase]) -> list[str]:
        if not cases:
            return []
        rows = [case_row(case) for case in cases]
        opened = {r["case_id"] for r in await conn.fetch(_INSERT_CASES, *(list(column) for column in zip(*rows)))}
        new = [case for case in cases if case.request.data.case_id in opened]
        await conn.execute(_INSERT_HISTORY, [c.request.data.case_id for c in new], [c.opened_at for c in new])
        messages = [m for case in new for m in case.announcements]
        await conn.execute(_INSERT_OUTBOX, [m.topic.name for m in messages], [m.key for m in messages],
                           [m.payload.decode() for m in messages])
        return [case.request.data.case_id for case in new]

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
