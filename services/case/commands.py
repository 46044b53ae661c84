"""What a back-office worker may do to a case, pure: claim, release, transfer, suspend, resume, extend, resolve
and note. Each rule takes the case as read and gives its next state, the history entry and the events that
announce it; a refusal is an exception that says why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum

from plumbing.calendar import TermCalendar, dutch_day
from plumbing.kafka import Outgoing
from schemas.cases import CHANGE_EVENTS, CaseChangedData, CaseResolved, CaseResolvedData, WorkItem, WorkItemData
from schemas.topics import CASE_EVENTS
from services.case import deadlines as clocks
from services.case.deadlines import DEFAULT_LEVELS, Alarm, DeadlineRefused, Deadlines, LegalTerm
from services.case.domain import work_queue


class Role(StrEnum):
    """What a worker may do: a worker its departments' cases, a coordinator also act on cases colleagues hold,
    an admin everything everywhere, the access log included."""

    WORKER = "worker"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class Status(StrEnum):
    """A case's status; suspension (opschorting) is a state beside it."""

    REGISTERED = "registered"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"


class Action(StrEnum):
    """What a change did, as the history names it (``opened`` is the case service's own)."""

    CLAIMED = "claimed"
    RELEASED = "released"
    TRANSFERRED = "transferred"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    EXTENDED = "extended"
    RESOLVED = "resolved"
    NOTED = "noted"


class CommandRefused(Exception):
    """A change the rules do not allow; the message says why, for the worker, and never holds personal data."""


class Conflict(CommandRefused):
    """The case's state does not allow the change now (someone else holds it, it is resolved…)."""


class NotAllowed(CommandRefused):
    """The worker's role does not allow the change."""


class Invalid(CommandRefused):
    """The change itself is wrong (an unknown department, an extension of five weeks, an empty reason)."""


@dataclass(frozen=True)
class Worker:
    """Who asks, as the bearer token says."""

    id: str
    departments: frozenset[str]
    role: Role

    def sees(self, department: str) -> bool:
        """Whether the worker may see and change the department's cases."""
        return self.role is Role.ADMIN or department in self.departments

    def oversees(self, department: str) -> bool:
        """Whether the worker may also act on the department's cases that a colleague holds."""
        return self.role is Role.ADMIN or (self.role is Role.COORDINATOR and department in self.departments)


@dataclass(frozen=True)
class CaseState:
    """A case as a ``cases`` row holds it; ``version`` is its ETag."""

    case_id: str
    case_type: str
    department: str
    subject_code: str
    party_pseudonym: str | None
    priority: str
    status: Status
    assignee: str | None
    version: int
    opened_on: dt.date
    norm_working_days: int | None
    service_due: dt.date
    legal_due: dt.date | None
    legal_days: int | None
    legal_basis: str | None
    suspended_on: dt.date | None = None
    suspended_working_days: int = 0
    suspension_reason: str | None = None
    extension_weeks: int = 0
    extension_reason: str | None = None
    resolution: str | None = None
    resolved_at: dt.datetime | None = None

    @classmethod
    def of(cls, row: Mapping[str, object]) -> CaseState:
        values = {name: row[name] for name in COLUMNS}
        return cls(**{**values, "status": Status(values["status"])})  # type: ignore[arg-type]

    @property
    def deadlines(self) -> Deadlines:
        legal = None
        if self.legal_days is not None:
            legal = LegalTerm(self.opened_on, self.legal_days, self.legal_basis or "", self.extension_weeks,
                              self.extension_reason)
        return Deadlines(self.opened_on, self.norm_working_days, legal, self.suspended_working_days,
                         self.suspended_on)

    def with_deadlines(self, deadlines: Deadlines, calendar: TermCalendar) -> CaseState:
        """The case with its clocks moved, and its due dates worked out again from them."""
        legal = deadlines.legal
        return replace(self, service_due=deadlines.service_due(calendar), legal_due=deadlines.legal_due(calendar),
                       legal_days=legal.days if legal else None, suspended_on=deadlines.suspended_on,
                       suspended_working_days=deadlines.suspended_working_days,
                       extension_weeks=legal.extension_weeks if legal else 0,
                       extension_reason=legal.extension_reason if legal else None)


#: The ``cases`` columns a state is read from.
COLUMNS = tuple(f.name for f in fields(CaseState))


@dataclass(frozen=True)
class HistoryEntry:
    """Who did what when, and why."""

    action: Action
    status: Status  # after the change
    by: str
    at: dt.datetime
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What a change makes: the case's next state (its version one higher), its history entry, the events to
    publish, and, when the clocks moved, the day each alarm level is now reached."""

    case: CaseState
    entry: HistoryEntry
    messages: tuple[Outgoing, ...] = ()
    alarms: tuple[Alarm, ...] | None = None


class CaseRules:
    """The rules of one organisation: its calendar, its departments and its deadline levels."""

    def __init__(self, *, source: str, calendar: TermCalendar, departments: Iterable[str],
                 levels: Mapping[str, float] = DEFAULT_LEVELS) -> None:
        self.source = source
        self.calendar = calendar
        self.departments = frozenset(departments)
        self.levels = dict(levels)

    def claim(self, case: CaseState, by: Worker, now: dt.datetime) -> Outcome:
        """Take the case (in behandeling): nobody else may hold it."""
        _not_resolved(case)
        if case.assignee == by.id:
            raise Conflict("you hold the case already")
        if case.assignee is not None:
            raise Conflict(f"the case is held by {case.assignee}; it must be released first")
        return self._changed(case, by, now, Action.CLAIMED, status=Status.IN_PROGRESS, assignee=by.id)

    def release(self, case: CaseState, by: Worker, now: dt.datetime) -> Outcome:
        """Give the case back to its department's queue: its holder, or a coordinator."""
        _not_resolved(case)
        if case.assignee is None:
            raise Conflict("nobody holds the case")
        _holder_or_coordinator(case, by, "release")
        return self._changed(case, by, now, Action.RELEASED, status=Status.REGISTERED, assignee=None)

    def transfer(self, case: CaseState, by: Worker, now: dt.datetime, *, department: str, reason: str) -> Outcome:
        """Send the case to another department's queue, with the reason; nobody holds it there yet."""
        to = department
        _not_resolved(case)
        _holder_or_coordinator(case, by, "transfer")
        if to not in self.departments:
            raise Invalid(f"there is no department {to!r}")
        if to == case.department:
            raise Invalid(f"the case is in {to} already")
        why = _reason(reason, "a transfer")
        outcome = self._changed(case, by, now, Action.TRANSFERRED, f"{case.department} → {to}: {why}",
                                status=Status.REGISTERED, assignee=None, department=to)
        after = outcome.case
        queued = WorkItem.create(
            source=self.source, subject=case.case_id, time=now, id=f"{case.case_id}:queued:{after.version}",
            data=WorkItemData(case_id=case.case_id, case_type=case.case_type, department=to,
                              subject_code=case.subject_code, priority=case.priority, due_date=after.service_due,
                              legal_due=after.legal_due, why="transferred", queued_at=now))
        return replace(outcome, messages=(*outcome.messages, Outgoing.of(work_queue(to), case.case_id, queued)))

    def suspend(self, case: CaseState, by: Worker, now: dt.datetime, *, reason: str) -> Outcome:
        """Stop both clocks from today (opschorting), e.g. while waiting for the party."""
        _not_resolved(case)
        _holder_or_coordinator(case, by, "suspend")
        why = _reason(reason, "a suspension")
        deadlines = _by_the_clock(lambda: clocks.suspend(case.deadlines, dutch_day(now)))
        return self._changed(case, by, now, Action.SUSPENDED, why, suspended_on=deadlines.suspended_on,
                             suspension_reason=why)

    def resume(self, case: CaseState, by: Worker, now: dt.datetime) -> Outcome:
        """Start both clocks again: each due date moves by the days it stood still."""
        _holder_or_coordinator(case, by, "resume")
        deadlines = _by_the_clock(lambda: clocks.resume(case.deadlines, dutch_day(now), self.calendar))
        moved = case.with_deadlines(deadlines, self.calendar)
        return self._clocks_moved(case, moved, deadlines, by, now, Action.RESUMED, None, suspension_reason=None)

    def extend(self, case: CaseState, by: Worker, now: dt.datetime, *, weeks: int, reason: str) -> Outcome:
        """Extend the legal term once (verdaging), by at most four weeks, with the reason for the party."""
        _not_resolved(case)
        _holder_or_coordinator(case, by, "extend")
        if not 0 < weeks <= clocks.COMPLAINT_EXTENSION_WEEKS:
            raise Invalid(f"an extension is 1 to {clocks.COMPLAINT_EXTENSION_WEEKS} weeks, not {weeks}")
        why = _reason(reason, "an extension")
        deadlines = _by_the_clock(lambda: clocks.extend(case.deadlines, weeks=weeks, reason=why, on=dutch_day(now),
                                                        calendar=self.calendar))
        moved = case.with_deadlines(deadlines, self.calendar)
        return self._clocks_moved(case, moved, deadlines, by, now, Action.EXTENDED, f"{weeks} weeks: {why}")

    def resolve(self, case: CaseState, by: Worker, now: dt.datetime, *, resolution: str) -> Outcome:
        """Close the case with its answer for the party; the router then opens a new case for a new question."""
        if case.status is Status.RESOLVED:
            raise Conflict(f"the case was resolved already, on {_day(case.resolved_at)}")
        if case.suspended_on is not None:
            raise Conflict("the case is suspended: resume it before resolving it")
        _holder_or_coordinator(case, by, "resolve")
        answer = _reason(resolution, "a resolution")
        outcome = self._changed(case, by, now, Action.RESOLVED, None, announce=False, status=Status.RESOLVED,
                                resolution=answer, resolved_at=now)
        resolved = CaseResolved.create(
            source=self.source, subject=case.case_id, time=now, id=f"{case.case_id}:resolved:{outcome.case.version}",
            data=CaseResolvedData(case_id=case.case_id, subject_code=case.subject_code, department=case.department,
                                  party_pseudonym=case.party_pseudonym, resolved_at=now, by=by.id))
        return replace(outcome, messages=(Outgoing.of(CASE_EVENTS, case.case_id, resolved),))

    def note(self, case: CaseState, by: Worker, now: dt.datetime, *, text: str) -> Outcome:
        """A note in the history, for colleagues; no event."""
        return self._changed(case, by, now, Action.NOTED, _reason(text, "a note"), announce=False)

    def _clocks_moved(self, case: CaseState, moved: CaseState, deadlines: Deadlines, by: Worker, now: dt.datetime,
                      action: Action, reason: str | None, **changes: object) -> Outcome:
        clock_fields = {name: getattr(moved, name) for name in _CLOCK_FIELDS}
        outcome = self._changed(case, by, now, action, reason, **clock_fields, **changes)
        return replace(outcome, alarms=tuple(clocks.alarms(deadlines, self.calendar, self.levels)))

    def _changed(self, case: CaseState, by: Worker, now: dt.datetime, action: Action, reason: str | None = None, *,
                 announce: bool = True, **changes: object) -> Outcome:
        after = replace(case, version=case.version + 1, **changes)  # type: ignore[arg-type]
        entry = HistoryEntry(action, after.status, by.id, now, reason)
        if not announce:
            return Outcome(after, entry)
        event = CHANGE_EVENTS[action].create(
            source=self.source, subject=case.case_id, time=now, id=f"{case.case_id}:{action}:{after.version}",
            data=CaseChangedData(
                case_id=case.case_id, department=after.department, subject_code=case.subject_code,
                status=after.status.value, suspended=after.suspended_on is not None, assignee=after.assignee,
                due_date=after.service_due, legal_due=after.legal_due,
                from_department=case.department if action is Action.TRANSFERRED else None, by=by.id,
                changed_at=now))
        return Outcome(after, entry, (Outgoing.of(CASE_EVENTS, case.case_id, event),))


_CLOCK_FIELDS = ("service_due", "legal_due", "legal_days", "suspended_on", "suspended_working_days",
                 "extension_weeks", "extension_reason")


def _not_resolved(case: CaseState) -> None:
    if case.status is Status.RESOLVED:
        raise Conflict(f"the case was resolved on {_day(case.resolved_at)}")


def _holder_or_coordinator(case: CaseState, by: Worker, what: str) -> None:
    if case.assignee not in (None, by.id) and not by.oversees(case.department):
        raise NotAllowed(f"the case is held by {case.assignee}: only they or a coordinator may {what} it")


def _reason(text: str, what: str) -> str:
    if not text.strip():
        raise Invalid(f"{what} needs its text; it is empty")
    return text.strip()


def _by_the_clock(change: Callable[[], Deadlines]) -> Deadlines:
    try:
        return change()
    except DeadlineRefused as refused:
        raise Conflict(str(refused)) from None


def _day(instant: dt.datetime | None) -> str:
    return dutch_day(instant).isoformat() if instant else "an unknown day"
