"""Case rules, pure: a new case from a request, its clocks and alarms, and the events that announce it."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass

from plumbing.calendar import TermCalendar, dutch_day
from plumbing.kafka import Outgoing
from schemas import CaseOpened, CaseOpenedData, OpenCase
from schemas.cases import WorkItem, WorkItemData
from schemas.topics import BACKOFFICE, CASE_EVENTS, TopicSpec
from services.case.deadlines import DEFAULT_LEVELS, Alarm, Deadlines, LegalTerm, alarms

#: Who the history names for what the case service does by itself.
SYSTEM = "loket-cases"


@dataclass(frozen=True)
class NewCase:
    """A case to insert: its clocks, the alarms they will raise, and what announces it."""

    request: OpenCase
    opened_at: dt.datetime
    deadlines: Deadlines
    legal_due: dt.date | None
    alarms: tuple[Alarm, ...]
    announcements: tuple[Outgoing, ...]  # published once the transaction that made them has committed


@functools.cache
def work_queue(department: str) -> TopicSpec:
    """A department's work-queue topic."""
    return BACKOFFICE.with_parameters(department=department)


@functools.lru_cache(maxsize=4096)
def _alarms(deadlines: Deadlines, calendar: TermCalendar, levels: tuple[tuple[str, float], ...]) -> tuple[Alarm, ...]:
    # Most cases of a day share their clocks: worked out once for all of them.
    return tuple(alarms(deadlines, calendar, dict(levels)))


def deadlines_of(request: OpenCase) -> Deadlines:
    """A requested case's clocks. A request from before the router sent the terms themselves gives only its
    dates: the norm is then the working days up to its due date, the legal term the days up to its last day."""
    data = request.data
    on = data.asked_on or dutch_day(data.requested_at)
    weeks = data.legal_term_weeks
    if weeks is not None or data.norm_working_days is not None:
        legal = LegalTerm(on, 7 * weeks, data.legal_basis or "") if weeks else None
        return Deadlines(on, data.norm_working_days, legal)
    legal = LegalTerm(on, (data.legal_deadline - on).days, data.legal_basis or "") if data.legal_deadline else None
    norm = None if legal and data.due_date >= data.legal_deadline else max(1, _working_days(on, data.due_date))
    return Deadlines(on, norm, legal)


@functools.lru_cache(maxsize=1024)
def _working_days(start: dt.date, end: dt.date) -> int:
    # Weekdays after ``start`` up to ``end``: only for requests without their norm, so no calendar at hand.
    return sum((start + dt.timedelta(days=n)).weekday() < 5 for n in range(1, (end - start).days + 1))


def open_case(request: OpenCase, *, source: str, now: dt.datetime, calendar: TermCalendar = TermCalendar(),
              levels: Mapping[str, float] = DEFAULT_LEVELS) -> NewCase:
    """A new case (status 'registered') from a request: announced on the case events topic and put in its
    department's work queue. Its due dates are the request's: the ones the router told the party."""
    data = request.data
    deadlines = deadlines_of(request)
    legal_due = data.legal_deadline or deadlines.legal_due(calendar)
    opened = CaseOpened.create(
        source=source, subject=data.case_id, time=now, id=f"{data.case_id}:opened",
        data=CaseOpenedData(
            case_id=data.case_id, request_id=request.id, case_type=data.case_type, department=data.department,
            subject_code=data.subject_code, due_date=data.due_date, legal_due=legal_due,
            party_pseudonym=data.party.pseudonym if data.party else None, opened_at=now,
            requested_at=data.requested_at,
        ),
    )
    queued = WorkItem.create(
        source=source, subject=data.case_id, time=now, id=f"{data.case_id}:queued:1",
        data=WorkItemData(case_id=data.case_id, case_type=data.case_type, department=data.department,
                          subject_code=data.subject_code, priority=data.priority, due_date=data.due_date,
                          legal_due=legal_due, why="opened", queued_at=now),
    )
    return NewCase(request, now, deadlines, legal_due, _alarms(deadlines, calendar, tuple(levels.items())),
                   (Outgoing.of(CASE_EVENTS, data.case_id, opened),
                    Outgoing.of(work_queue(data.department), data.case_id, queued)))
