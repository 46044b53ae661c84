"""The back office on PostgreSQL (asyncpg, no ORM): cases listed filtered in SQL by the worker's departments, one
case with its history and contacts, a change applied under a row lock and a version check in one transaction
with its history, events and alarms, and personal data read only with an access-log row in the same transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
from pydantic import AwareDatetime, Field

from schemas import PersonalData
from schemas.envelope import Frozen
from services.case.commands import COLUMNS, CaseState, NotAllowed, Outcome, Role, Worker
from services.case.store import acquired, insert_outbox

#: At most this many contacts and cases in one klantbeeld, the most recent first.
KLANTBEELD_MOST = 500
StatusFilter = Literal["registered", "in_progress", "resolved", "suspended"]


class CaseNotFound(LookupError):
    """There is no case with this id."""


class VersionMismatch(Exception):
    """The case changed since the version the worker saw (If-Match); ``current`` is its version now."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the case is at version {current} now")
        self.current = current


class CaseSummary(Frozen):
    """A case as a list shows it. No personal data."""

    case_id: str = Field(description="Case (zaak) id.", examples=["zaak-0b1f6c2e"])
    case_type: str = Field(description="Zaaktype (case type) code.", examples=["klacht"])
    department: str = Field(description="Afdeling (department) that holds the case.", examples=["afval-reiniging"])
    subject_code: str = Field(description="Onderwerp (subject) code.", examples=["container-kapot"])
    status: Literal["registered", "in_progress", "resolved"] = Field(description="Status.")
    suspended: bool = Field(description="Whether the case is suspended (opgeschort): neither clock runs.")
    priority: Literal["normal", "high"] = Field(description="Handling priority.")
    assignee: str | None = Field(description="Worker id of who holds the case, if anyone.", examples=["w.devries"])
    opened_on: dt.date = Field(description="The day the question came in; both clocks start here.")
    service_due: dt.date = Field(description="Due date per the service norm (servicenorm).")
    legal_due: dt.date | None = Field(description="Last day of the legal term (doorlooptijd), if any.")
    overdue: bool = Field(description="Past its service due date, not resolved and not suspended.")
    version: int = Field(ge=1, description="Version of the case: its ETag, one higher after every change.")


class HistoryItem(Frozen):
    """One change of a case: who, when, what and why."""

    action: str = Field(description="What was done: opened, claimed, released, transferred, suspended, resumed, "
                        "extended, resolved or noted.", examples=["claimed"])
    status: str = Field(description="The status after the change.", examples=["in_progress"])
    reason: str | None = Field(description="Why, or the note.", examples=["wacht op foto's van de melder"])
    changed_by: str = Field(description="Worker id, or loket-cases for the case service itself.")
    changed_at: AwareDatetime = Field(description="When.")


class ContactItem(Frozen):
    """One decided contact (klantcontact) of a party. No personal data."""

    contact_id: str = Field(description="Id of the contact.")
    channel: str = Field(description="Channel it came in on.", examples=["phone"])
    subject_code: str = Field(description="Onderwerp (subject) it was classified as.", examples=["container-kapot"])
    outcome: str = Field(description="What the one-desk router decided.", examples=["escalated"])
    rule: str = Field(description="The one-desk rule that decided it.", examples=["escalate"])
    case_id: str | None = Field(description="The case it opened or joined, if any.")
    department: str | None = Field(description="The department of that case, if any.")
    decided_at: AwareDatetime = Field(description="When it was decided.")


class CaseDetail(CaseSummary):
    """One case with its clocks, history and contacts. No personal data: that is the case's party resource."""

    legal_basis: str | None = Field(description="Where the legal term comes from.", examples=["Awb art. 9:11"])
    suspended_on: dt.date | None = Field(description="Since when the case is suspended, if it is.")
    suspension_reason: str | None = Field(description="Why it is suspended, if it is.")
    extension_weeks: int = Field(ge=0, le=4, description="Weeks the legal term was extended by (verdaging), once.")
    extension_reason: str | None = Field(description="Why the legal term was extended, if it was.")
    resolution: str | None = Field(description="The answer for the party, once resolved.")
    resolved_at: AwareDatetime | None = Field(description="When it was resolved, if it was.")
    updated_at: AwareDatetime = Field(description="When it last changed.")
    history: list[HistoryItem] = Field(description="Every change, oldest first.")
    contacts: list[ContactItem] = Field(description="The contacts linked to the case, oldest first.")


class CaseParty(Frozen):
    """The personal data of a case's party: read only with a purpose, and every read is in the access log."""

    case_id: str = Field(description="Case id.")
    party: PersonalData | None = Field(description="The party as they gave themselves; none for an anonymous one.")
    question: str | None = Field(description="The question in the party's words.")


class Klantbeeld(Frozen):
    """Every contact and case of one party, so that nobody tells their story twice; the identifier it was found
    by is not repeated."""

    contacts: list[ContactItem] = Field(description=f"The party's contacts, most recent first (at most "
                                        f"{KLANTBEELD_MOST}).")
    cases: list[CaseSummary] = Field(description=f"The party's cases, most recent first (at most {KLANTBEELD_MOST}).")


class PersonalDataRead(Frozen):
    """One read of personal data, as the access log keeps it (AVG art. 5(2): accountability)."""

    id: int = Field(description="Sequence number of the read.")
    worker_id: str = Field(description="Who read.")
    role: str = Field(description="Their role then.", examples=["worker"])
    read_at: AwareDatetime = Field(description="When.")
    what: Literal["case-party", "klantbeeld"] = Field(description="A case's party or a klantbeeld.")
    party_pseudonym: str | None = Field(description="Whose data: the party's pseudonym.")
    case_id: str | None = Field(description="Which case, for a case's party.")
    purpose: str = Field(description="Why, as the worker said.", examples=["terugbelverzoek uitvoeren"])


@dataclass(frozen=True)
class CaseFilter:
    """What a worker narrows the list of their departments' cases to."""

    status: StatusFilter | None = None
    overdue: bool | None = None
    due_before: dt.date | None = None
    subject: str | None = None
    assignee: str | None = None


def _overdue(today: str) -> str:
    return f"(status <> 'resolved' AND suspended_on IS NULL AND service_due < {today})"


_SUMMARY = ("case_id, case_type, department, subject_code, status, suspended_on IS NOT NULL AS suspended, priority, "
            "assignee, opened_on, service_due, legal_due, {overdue} AS overdue, version")
_DETAIL = (_SUMMARY + ", legal_basis, suspended_on, suspension_reason, extension_weeks, extension_reason, resolution,"
           " resolved_at, updated_at")
_HISTORY = ("SELECT action, status, reason, changed_by, changed_at FROM case_status_history WHERE case_id = $1 "
            "ORDER BY id")
_CONTACTS = ("SELECT contact_id, channel, subject_code, outcome, rule, case_id, department, decided_at FROM contacts "
             "WHERE {where} ORDER BY decided_at {order}, question_id")
_LOG_READ = ("INSERT INTO personal_data_reads (worker_id, role, what, party_pseudonym, case_id, purpose) "
             "VALUES ($1, $2, $3, $4, $5, $6)")
#: What a change may write; the rest of a case is as it was opened.
_CHANGING = ("department", "status", "assignee", "version", "service_due", "legal_due", "legal_days", "suspended_on",
             "suspended_working_days", "suspension_reason", "extension_weeks", "extension_reason", "resolution",
             "resolved_at")
_UPDATE = (f"UPDATE cases SET {', '.join(f'{c} = ${n}' for n, c in enumerate(_CHANGING, start=3))}, "
           f"updated_at = ${len(_CHANGING) + 3} WHERE case_id = $1 AND version = $2")
_INSERT_HISTORY = ("INSERT INTO case_status_history (case_id, status, action, reason, changed_at, changed_by) "
                   "VALUES ($1, $2, $3, $4, $5, $6)")
_MOVE_ALARMS = """
UPDATE deadline_alarms AS d SET due_on = a.due_on
FROM unnest($2::text[], $3::text[], $4::date[]) AS a(clock, level, due_on)
WHERE d.case_id = $1 AND d.clock = a.clock AND d.level = a.level AND d.emitted_at IS NULL
"""


class BackOffice:
    """The back office's reads and changes; who may see what is decided here, in SQL for lists."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def cases(self, worker: Worker, filters: CaseFilter, *, today: dt.date, limit: int,
                    offset: int) -> tuple[list[CaseSummary], int]:
        """A page of the cases the worker may see, soonest due first, and how many there are in all."""
        where, args = _where(worker, filters, today)
        n = len(args)
        columns = _SUMMARY.format(overdue=_overdue(f"${n + 1}::date"))
        async with acquired(self._pool) as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
            total = await conn.fetchval(f"SELECT count(*) FROM cases WHERE {where}", *args)
            rows = await conn.fetch(f"SELECT {columns} FROM cases WHERE {where} ORDER BY service_due, case_id "
                                    f"LIMIT ${n + 2} OFFSET ${n + 3}", *args, today, limit, offset)
        return [CaseSummary(**row) for row in rows], total

    async def case(self, worker: Worker, case_id: str, *, today: dt.date) -> CaseDetail:
        """One case the worker may see, with its history and linked contacts."""
        async with acquired(self._pool) as conn, conn.transaction(readonly=True, isolation="repeatable_read"):
            return await _detail(conn, worker, case_id, today)

    async def change(self, worker: Worker, case_id: str, expected_version: int, rule: Callable[[CaseState], Outcome],
                     *, today: dt.date) -> CaseDetail:
        """Apply ``rule`` to the case as it is now, if it is still at ``expected_version``: the case, its history,
        its events and its alarms' new days in one transaction. Returns the case as changed."""
        async with acquired(self._pool) as conn, conn.transaction():
            row = await conn.fetchrow(f"SELECT {', '.join(COLUMNS)} FROM cases WHERE case_id = $1 FOR UPDATE",
                                      case_id)
            case = _visible(worker, row)
            if case.version != expected_version:
                raise VersionMismatch(case.version)
            outcome = rule(case)
            after, entry = outcome.case, outcome.entry
            await conn.execute(_UPDATE, case_id, case.version, *(getattr(after, c) for c in _CHANGING), entry.at)
            await conn.execute(_INSERT_HISTORY, case_id, entry.status.value, entry.action.value, entry.reason,
                               entry.at, entry.by)
            await insert_outbox(conn, outcome.messages)
            if outcome.alarms:
                await conn.execute(_MOVE_ALARMS, case_id, *map(list, zip(*((a.clock, a.level, a.due_on)
                                                                           for a in outcome.alarms))))
            return await _detail(conn, None, case_id, today)

    async def party(self, worker: Worker, case_id: str, *, purpose: str) -> CaseParty:
        """A case's personal data; the read goes into the access log in the same transaction."""
        async with acquired(self._pool) as conn, conn.transaction():
            row = await conn.fetchrow(f"SELECT {', '.join(COLUMNS)} FROM cases WHERE case_id = $1", case_id)
            case = _visible(worker, row)
            party = await conn.fetchrow("SELECT party, question FROM case_parties WHERE case_id = $1", case_id)
            await conn.execute(_LOG_READ, worker.id, worker.role.value, "case-party", case.party_pseudonym, case_id,
                               purpose)
        if party is None:
            return CaseParty(case_id=case_id, party=None, question=None)
        personal = PersonalData.model_validate_json(party["party"]) if party["party"] else None
        return CaseParty(case_id=case_id, party=personal, question=party["question"])

    async def klantbeeld(self, worker: Worker, party_pseudonym: str, *, purpose: str,
                         today: dt.date) -> Klantbeeld:
        """Every contact and case of a party; the read goes into the access log in the same transaction."""
        columns = _SUMMARY.format(overdue=_overdue("$2"))
        async with acquired(self._pool) as conn, conn.transaction():
            contacts = await conn.fetch(_CONTACTS.format(where="party_pseudonym = $1", order="DESC") + " LIMIT $2",
                                        party_pseudonym, KLANTBEELD_MOST)
            cases = await conn.fetch(f"SELECT {columns} FROM cases WHERE party_pseudonym = $1 "
                                     f"ORDER BY opened_on DESC, case_id LIMIT $3", party_pseudonym, today,
                                     KLANTBEELD_MOST)
            await conn.execute(_LOG_READ, worker.id, worker.role.value, "klantbeeld", party_pseudonym, None, purpose)
        return Klantbeeld(contacts=[ContactItem(**r) for r in contacts], cases=[CaseSummary(**r) for r in cases])

    async def reads(self, worker: Worker, *, limit: int, offset: int) -> tuple[list[PersonalDataRead], int]:
        """A page of the access log, the latest first: for admins only."""
        if worker.role is not Role.ADMIN:
            raise NotAllowed("only an admin reads the access log")
        async with acquired(self._pool) as conn:
            total = await conn.fetchval("SELECT count(*) FROM personal_data_reads")
            rows = await conn.fetch("SELECT id, worker_id, role, read_at, what, party_pseudonym, case_id, purpose "
                                    "FROM personal_data_reads ORDER BY id DESC LIMIT $1 OFFSET $2", limit, offset)
        return [PersonalDataRead(**row) for row in rows], total


def _where(worker: Worker, filters: CaseFilter, today: dt.date) -> tuple[str, list[Any]]:
    """The list's WHERE clause and its arguments. A worker's departments are always in it."""
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    clauses = []
    if worker.role is not Role.ADMIN:
        clauses.append(f"department = ANY({arg(sorted(worker.departments))}::text[])")
    if filters.status == "suspended":
        clauses.append("suspended_on IS NOT NULL AND status <> 'resolved'")
    elif filters.status is not None:
        clauses.append(f"status = {arg(filters.status)}")
    if filters.overdue is not None:
        overdue = _overdue(f"{arg(today)}::date")
        clauses.append(overdue if filters.overdue else f"NOT {overdue}")
    if filters.due_before is not None:
        clauses.append(f"service_due < {arg(filters.due_before)}")
    if filters.subject is not None:
        clauses.append(f"subject_code = {arg(filters.subject)}")
    if filters.assignee is not None:
        clauses.append(f"assignee = {arg(filters.assignee)}")
    return " AND ".join(clauses) or "true", args


def _visible(worker: Worker, row: asyncpg.Record | None) -> CaseState:
    if row is None:
        raise CaseNotFound("there is no such case")
    case = CaseState.of(row)
    if not worker.sees(case.department):
        raise NotAllowed(f"the case belongs to {case.department}, not to your departments")
    return case


async def _detail(conn: asyncpg.Connection, worker: Worker | None, case_id: str, today: dt.date) -> CaseDetail:
    """The case as the API shows it; ``worker`` must be allowed to see it, unless ``None`` (they just changed
    it: after a transfer it is another department's, and they see what they did)."""
    row = await conn.fetchrow(f"SELECT {_DETAIL.format(overdue=_overdue('$2'))} FROM cases WHERE case_id = $1",
                              case_id, today)
    if row is None:
        raise CaseNotFound("there is no such case")
    if worker is not None and not worker.sees(row["department"]):
        raise NotAllowed(f"the case belongs to {row['department']}, not to your departments")
    history = await conn.fetch(_HISTORY, case_id)
    contacts = await conn.fetch(_CONTACTS.format(where="case_id = $1", order="ASC"), case_id)
    return CaseDetail(**row, history=[HistoryItem(**r) for r in history],
                      contacts=[ContactItem(**r) for r in contacts])
