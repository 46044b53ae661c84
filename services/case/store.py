"""The case store on PostgreSQL (asyncpg, no ORM): a batch of cases, their history and the outbox in one
transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg

from plumbing.kafka import Outgoing
from plumbing.retry import database_away
from services.case.domain import SYSTEM, NewCase


@asynccontextmanager
async def acquired(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection of ``pool`` for one piece of work. Should the work find PostgreSQL away, the connection is
    closed instead of handed back: the pool would first reset it, and a connection lost in the middle of a
    transaction, before asyncpg has seen it closed, makes that reset log an error of its own ("Resetting
    connection with an active transaction") and fail once more."""
    async with pool.acquire() as conn:
        try:
            yield conn
        except Exception as exc:
            if database_away(exc):
                conn.terminate()
            raise


@dataclass(frozen=True)
class StoredCase:
    """A case as the back office sees it (no personal data in this view)."""

    case_id: str
    request_id: str
    case_type: str
    department: str
    subject_code: str
    status: str
    service_due: dt.date
    legal_due: dt.date | None
    party_pseudonym: str | None


@dataclass(frozen=True)
class Stored:
    """What storing a batch did: the cases it opened, and the requests PostgreSQL refused (by request id, with
    the reason). A request stored before (a redelivery) is in neither."""

    opened: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Contact:
    """One decided contact of a party (klantcontact), from the router's decision. No personal data."""

    question_id: str
    contact_id: str
    party_pseudonym: str | None
    channel: str
    subject_code: str
    outcome: str
    rule: str
    case_id: str | None
    department: str | None
    decided_at: dt.datetime


#: What storing a case can fail with because of its data, not the connection: PostgreSQL's refusals, and what
#: asyncpg's COPY raises itself for a value it cannot encode (INSERT with parameters turned that into DataError).
REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, TypeError, ValueError, OverflowError)
#: Most outbox rows published per transaction of the relay (two events per case: a batch of cases and more).
RELAY_BATCH = 2000
#: Consumers named in the inbox.
CASE_REQUESTS_INBOX = "case-requests"
#: The columns of a case row, in ``case_row``'s order.
CASE_COLUMNS = ("case_id", "request_id", "question_id", "contact_id", "case_type", "department", "subject_code",
                "channel", "party_pseudonym", "priority", "opened_on", "norm_working_days", "service_due",
                "legal_due", "legal_days", "legal_basis", "requested_at", "opened_at")
CONTACT_COLUMNS = tuple(Contact.__dataclass_fields__)
_CONTACT_TYPES = ("text",) * 9 + ("timestamptz",)


def _unnest(types: Sequence[str], first: int = 1) -> str:
    return ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, start=first))


# Which of a batch's request ids (and case ids) are stored already: joined on the primary keys' indexes.
_SEEN_REQUESTS = """
SELECT i.event_id FROM unnest($2::text[]) AS u(id) JOIN inbox i ON i.consumer = $1 AND i.event_id = u.id
"""
_SEEN_CASES = "SELECT c.case_id FROM unnest($1::text[]) AS u(id) JOIN cases c ON c.case_id = u.id"
_INSERT_OUTBOX = """
INSERT INTO outbox (topic, message_key, payload, event_type)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
"""
# Marked in the statement that takes them: one round trip, and the transaction holds the rows until it ends.
_TAKE_PENDING = """
WITH taken AS (
    UPDATE outbox SET published_at = now()
    WHERE id IN (SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING id, topic, message_key, payload, event_type
)
SELECT * FROM taken ORDER BY id
"""
_INSERT_CONTACTS = f"""
INSERT INTO contacts ({", ".join(CONTACT_COLUMNS)}) SELECT * FROM unnest({_unnest(_CONTACT_TYPES)})
ON CONFLICT DO NOTHING
"""


def case_row(case: NewCase) -> tuple[object, ...]:
    data, clocks = case.request.data, case.deadlines
    return (data.case_id, case.request.id, data.question_id, data.contact_id, data.case_type, data.department,
            data.subject_code, data.channel.value, data.party.pseudonym if data.party else None, data.priority,
            clocks.opened_on, clocks.norm_working_days, data.due_date, case.legal_due,
            clocks.legal.days if clocks.legal else None, clocks.legal.basis if clocks.legal else None,
            data.requested_at, case.opened_at)


def party_row(case: NewCase) -> tuple[str, str | None, str | None] | None:
    """The case's personal data, for its own table; ``None`` when it has none."""
    data = case.request.data
    party = data.party.personal.model_dump_json(exclude_none=True) if data.party and data.party.personal else None
    return (data.case_id, party, data.question) if party or data.question else None


def table_rows(cases: Sequence[NewCase]) -> list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]]:
    """Every row that storing ``cases`` as new writes, by table: (table, columns, rows). The store writes these
    with COPY, and so does the raw floor it is measured against (``bench/cases.py``)."""
    return [_inbox_rows(cases), *_case_rows(cases)]


def _inbox_rows(cases: Sequence[NewCase]) -> tuple[str, tuple[str, ...], list[tuple[object, ...]]]:
    return "inbox", ("consumer", "event_id"), [(CASE_REQUESTS_INBOX, c.request.id) for c in cases]


def _case_rows(cases: Sequence[NewCase]) -> list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]]:
    return [
        ("cases", CASE_COLUMNS, [case_row(c) for c in cases]),
        ("case_parties", ("case_id", "party", "question"), [row for c in cases if (row := party_row(c))]),
        ("case_status_history", ("case_id", "status", "action", "changed_at", "changed_by"),
         [(c.request.data.case_id, "registered", "opened", c.opened_at, SYSTEM) for c in cases]),
        ("deadline_alarms", ("case_id", "clock", "level", "due_on"),
         [(c.request.data.case_id, a.clock, a.level, a.due_on) for c in cases for a in c.alarms]),
        ("outbox", ("topic", "message_key", "payload", "event_type"),
         [(m.topic, m.key, m.value.decode(), m.event_type) for c in cases for m in c.announcements]),
    ]


async def insert_outbox(conn: asyncpg.Connection, messages: Sequence[Outgoing]) -> None:
    """Put events in the outbox, in the caller's transaction."""
    if messages:
        await conn.execute(_INSERT_OUTBOX, [m.topic for m in messages], [m.key for m in messages],
                           [m.value.decode() for m in messages], [m.event_type for m in messages])


class PgCaseStore:
    """Cases in PostgreSQL. A request is handled once: its event id goes into the inbox in the transaction that
    stores the case, and a request for a case id stored before is left out too.

    The batch's rows are written with COPY (some 1.7 times faster than INSERT from arrays with ON CONFLICT),
    after one query per key has found what is stored already. A row stored meanwhile by another transaction (a
    second consumer of the partition, for a moment during a rebalance) makes the COPY fail on its unique key;
    the batch is then stored case by case, each case looking again, so the other's count as stored before."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add_all(self, cases: Sequence[NewCase]) -> Stored:
        """Store a batch of new cases in one transaction. Should PostgreSQL refuse the data of one (not the
        connection: that error is raised), the batch is stored again case by case, leaving out the refused."""
        async with acquired(self._pool) as conn:
            try:
                async with conn.transaction():
                    return Stored(opened=await self._insert(conn, cases))
            except REFUSED:
                pass
            stored = Stored()
            async with conn.transaction():
                for case in cases:
                    try:
                        async with conn.transaction():  # a savepoint: one refused case undoes only itself
                            stored.opened.extend(await self._insert(conn, [case]))
                    except REFUSED as exc:
                        # Bad data, not a bad connection: redelivery would fail the same way forever.
                        stored.refused[case.request.id] = type(exc).__name__
            return stored

    @staticmethod
    async def _insert(conn: asyncpg.Connection, cases: Sequence[NewCase]) -> list[str]:
        requests, case_ids = {c.request.id for c in cases}, {c.request.data.case_id for c in cases}
        seen_requests = {r[0] for r in await conn.fetch(_SEEN_REQUESTS, CASE_REQUESTS_INBOX, list(requests))}
        seen_cases = {r[0] for r in await conn.fetch(_SEEN_CASES, list(case_ids))}
        new, fresh = [], []  # requests not handled before; those of them that open a case not stored before
        for case in cases:  # in the batch too, the first of a request id or a case id is the one
            if case.request.id in seen_requests:
                continue
            seen_requests.add(case.request.id)
            new.append(case)
            if case.request.data.case_id not in seen_cases:
                seen_cases.add(case.request.data.case_id)
                fresh.append(case)
        for table, columns, rows in [_inbox_rows(new), *_case_rows(fresh)]:
            if rows:
                await conn.copy_records_to_table(table, columns=columns, records=rows)
        return [case.request.data.case_id for case in fresh]

    async def add_contacts(self, contacts: Sequence[Contact]) -> int:
        """Store decided contacts; one decided before (a redelivery) is left out. Returns how many were new."""
        if not contacts:
            return 0
        rows = [tuple(getattr(c, name) for name in CONTACT_COLUMNS) for c in contacts]
        status = await self._pool.execute(_INSERT_CONTACTS, *(list(column) for column in zip(*rows)))
        return int(status.rsplit(" ", 1)[1])

    async def get(self, case_id: str) -> StoredCase | None:
        row = await self._pool.fetchrow(
            "SELECT case_id, request_id, case_type, department, subject_code, status, service_due, legal_due,"
            " party_pseudonym FROM cases WHERE case_id = $1",
            case_id,
        )
        return StoredCase(**dict(row)) if row else None


class PgOutbox:
    """Publishes outbox rows in id order and marks them published, under row locks (SKIP LOCKED)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def relay(self, publish: Callable[[list[Outgoing]], Awaitable[None]], limit: int = RELAY_BATCH) -> int:
        """Hand up to ``limit`` pending messages to ``publish``; they are marked published in the transaction
        that took them, which commits only once ``publish`` returned (and rolls back when it raises)."""
        async with acquired(self._pool) as conn, conn.transaction():
            rows = await conn.fetch(_TAKE_PENDING, limit)
            if not rows:
                return 0
            await publish([Outgoing(topic, key, payload.encode(), event_type)
                           for _, topic, key, payload, event_type in rows])
            return len(rows)
