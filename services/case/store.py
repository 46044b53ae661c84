"""The case store on PostgreSQL (asyncpg, no ORM): a batch of cases, their history and the outbox in one
transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg

from services.case.domain import SYSTEM, NewCase, OutboxMessage


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


@dataclass(frozen=True)
class PendingMessage:
    id: int
    topic: str
    key: str
    payload: bytes
    event_type: str | None = None


#: Most outbox rows published per transaction of the relay (two events per case: a batch of cases and more).
RELAY_BATCH = 2000
#: Consumers named in the inbox.
CASE_REQUESTS_INBOX = "case-requests"
#: The columns of a case row, in ``case_row``'s order.
CASE_COLUMNS = ("case_id", "request_id", "question_id", "contact_id", "case_type", "department", "subject_code",
                "channel", "party_pseudonym", "priority", "opened_on", "norm_working_days", "service_due",
                "legal_due", "legal_days", "legal_basis", "requested_at", "opened_at")
_TYPES = ("text",) * 10 + ("date", "int4", "date", "date", "int4", "text", "timestamptz", "timestamptz")
CONTACT_COLUMNS = tuple(Contact.__dataclass_fields__)
_CONTACT_TYPES = ("text",) * 9 + ("timestamptz",)


def _unnest(types: Sequence[str], first: int = 1) -> str:
    return ", ".join(f"${n}::{t}[]" for n, t in enumerate(types, start=first))


_NEW_IN_INBOX = """
INSERT INTO inbox (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id
"""
# One statement for the whole batch; a case stored before (either unique key) is skipped, not an error.
_INSERT_CASES = f"""
INSERT INTO cases ({", ".join(CASE_COLUMNS)}) SELECT * FROM unnest({_unnest(_TYPES)})
ON CONFLICT DO NOTHING RETURNING case_id
"""
_INSERT_PARTIES = """
INSERT INTO case_parties (case_id, party, question) SELECT * FROM unnest($1::text[], $2::jsonb[], $3::text[])
"""
_INSERT_HISTORY = """
INSERT INTO case_status_history (case_id, status, action, changed_at, changed_by)
SELECT case_id, 'registered', 'opened', changed_at, $3 FROM unnest($1::text[], $2::timestamptz[]) AS t(case_id, changed_at)
"""
_INSERT_ALARMS = """
INSERT INTO deadline_alarms (case_id, clock, level, due_on)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::date[])
"""
_INSERT_OUTBOX = """
INSERT INTO outbox (topic, message_key, payload, event_type)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
"""
# Marked in the statement that takes them: one round trip, and the transaction holds the rows until it ends.
_TAKE_PENDING = """
UPDATE outbox SET published_at = now()
WHERE id IN (SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, topic, message_key, payload, event_type
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
    """Every row that storing ``cases`` as new writes, by table: (table, columns, rows). For a raw floor to
    measure the store against (``bench/cases.py``)."""
    return [
        ("inbox", ("consumer", "event_id"), [(CASE_REQUESTS_INBOX, c.request.id) for c in cases]),
        ("cases", CASE_COLUMNS, [case_row(c) for c in cases]),
        ("case_parties", ("case_id", "party", "question"), [row for c in cases if (row := party_row(c))]),
        ("case_status_history", ("case_id", "status", "action", "changed_at", "changed_by"),
         [(c.request.data.case_id, "registered", "opened", c.opened_at, SYSTEM) for c in cases]),
        ("deadline_alarms", ("case_id", "clock", "level", "due_on"),
         [(c.request.data.case_id, a.clock, a.level, a.due_on) for c in cases for a in c.alarms]),
        ("outbox", ("topic", "message_key", "payload", "event_type"),
         [(m.topic.name, m.key, m.payload.decode(), m.event_type) for c in cases for m in c.announcements]),
    ]


async def insert_outbox(conn: asyncpg.Connection, messages: Sequence[OutboxMessage]) -> None:
    """Put events in the outbox, in the caller's transaction."""
    if messages:
        await conn.execute(_INSERT_OUTBOX, [m.topic.name for m in messages], [m.key for m in messages],
                           [m.payload.decode() for m in messages], [m.event_type for m in messages])


class PgCaseStore:
    """Cases in PostgreSQL. A request is handled once: its event id goes into the inbox in the transaction that
    stores the case, and a case id stored before is left out too."""

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
        first = {r["event_id"] for r in await conn.fetch(_NEW_IN_INBOX, CASE_REQUESTS_INBOX,
                                                            [c.request.id for c in cases])}
        rows = [case_row(case) for case in cases if case.request.id in first]
        if not rows:
            return []
        opened = {r["case_id"] for r in await conn.fetch(_INSERT_CASES, *(list(column) for column in zip(*rows)))}
        new = [case for case in cases if case.request.data.case_id in opened and case.request.id in first]
        if parties := [row for case in new if (row := party_row(case))]:
            await conn.execute(_INSERT_PARTIES, *(list(column) for column in zip(*parties)))
        await conn.execute(_INSERT_HISTORY, [c.request.data.case_id for c in new], [c.opened_at for c in new], SYSTEM)
        alarms = [(c.request.data.case_id, a.clock, a.level, a.due_on) for c in new for a in c.alarms]
        if alarms:
            await conn.execute(_INSERT_ALARMS, *(list(column) for column in zip(*alarms)))
        await insert_outbox(conn, [m for case in new for m in case.announcements])
        return [case.request.data.case_id for case in new]

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

    async def relay(self, publish: Callable[[list[PendingMessage]], Awaitable[None]], limit: int = RELAY_BATCH) -> int:
        """Hand up to ``limit`` pending messages to ``publish``; they are marked published in the transaction
        that took them, which commits only once ``publish`` returned (and rolls back when it raises)."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_TAKE_PENDING, limit)
            if not rows:
                return 0
            await publish([PendingMessage(r["id"], r["topic"], r["message_key"], r["payload"].encode(), r["event_type"])
                           for r in sorted(rows, key=lambda r: r["id"])])
            return len(rows)
