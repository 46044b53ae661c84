"""A case's two clocks, pure: the service norm (servicenorm) in the organisation's working days, and the legal
term (doorlooptijd) by the Algemene termijnenwet; and how suspension (opschorting) and extension (verdaging)
move them.

Each clock is kept as where it started and how long it runs, not as a date alone: a suspension lengthens the
run by the days the clock stood still, and the due date is worked out again from the start, so the Atw's move
off a weekend or holiday is made once, at the end, and never piles up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from plumbing.calendar import TermCalendar

#: A complaint's legal term and its one extension: Awb art. 9:11, six weeks, extendable once by at most four.
COMPLAINT_WEEKS = 6
COMPLAINT_EXTENSION_WEEKS = 4


class DeadlineRefused(ValueError):
    """A suspension, resumption or extension the law or the case's state does not allow."""


@dataclass(frozen=True)
class LegalTerm:
    """A legal term: ``days`` calendar days from ``start`` (which itself never counts), on ``basis``."""

    start: dt.date
    days: int
    basis: str
    extension_weeks: int = 0  # the one extension (verdaging) given, if any
    extension_reason: str | None = None


@dataclass(frozen=True)
class Deadlines:
    """A case's clocks. ``suspended_on`` is set while the case is suspended: then neither clock runs."""

    opened_on: dt.date
    norm_working_days: int | None  # None: the case has only its legal term
    legal: LegalTerm | None = None
    suspended_working_days: int = 0  # working days the case has been suspended, over every suspension
    suspended_on: dt.date | None = None

    def service_due(self, calendar: TermCalendar) -> dt.date:
        """The promised due date: the norm's working days after opening plus those it was suspended, but never
        past the legal term (the promise never runs past the law)."""
        dates = [self.norm_due(calendar), self.legal_due(calendar)]
        return min(d for d in dates if d is not None)

    def norm_due(self, calendar: TermCalendar) -> dt.date | None:
        """The service norm's own due date, or ``None`` when the case has no norm."""
        if self.norm_working_days is None:
            return None
        return calendar.add_working_days(self.opened_on, self.norm_working_days + self.suspended_working_days)

    def legal_due(self, calendar: TermCalendar) -> dt.date | None:
        """The legal term's last day by the Atw, or ``None`` when the case has no legal term."""
        if self.legal is None:
            return None
        return calendar.legal.term_end(self.legal.start, days=self.legal.days)


def opened(on: dt.date, *, norm_working_days: int | None, legal_weeks: int | None = None,
           legal_basis: str | None = None) -> Deadlines:
    """The clocks of a case opened ``on`` the day its question came in."""
    if legal_weeks is not None and not legal_basis:
        raise DeadlineRefused("a legal term needs its basis (e.g. 'Awb art. 9:11')")
    if norm_working_days is None and legal_weeks is None:
        raise DeadlineRefused("a case needs a service norm or a legal term")
    legal = LegalTerm(on, 7 * legal_weeks, legal_basis or "") if legal_weeks is not None else None
    return Deadlines(on, norm_working_days, legal)


def suspend(deadlines: Deadlines, on: dt.date) -> Deadlines:
    """Stop both clocks from ``on`` (opschorting): the day ``on`` itself no longer counts."""
    if deadlines.suspended_on is not None:
        raise DeadlineRefused(f"the case is suspended already, since {deadlines.suspended_on.isoformat()}")
    if on < deadlines.opened_on:
        raise DeadlineRefused("a case cannot be suspended before it was opened")
    return replace(deadlines, suspended_on=on)


def resume(deadlines: Deadlines, on: dt.date, calendar: TermCalendar) -> Deadlines:
    """Start both clocks again on ``on``: each runs as long again as it stood still, the service norm by the
    working days from the suspension up to ``on``, the legal term by the calendar days (Awb art. 4:15)."""
    since = deadlines.suspended_on
    if since is None:
        raise DeadlineRefused("the case is not suspended")
    if on < since:
        raise DeadlineRefused("a case cannot be resumed before it was suspended")
    counted_from = max(since, deadlines.opened_on + dt.timedelta(days=1))  # the opening day never counted
    still = max(0, (on - counted_from).days)
    working = sum(calendar.working.is_working_day(counted_from + dt.timedelta(days=n)) for n in range(still))
    legal = replace(deadlines.legal, days=deadlines.legal.days + still) if deadlines.legal else None
    return replace(deadlines, legal=legal, suspended_working_days=deadlines.suspended_working_days + working,
                   suspended_on=None)


def extend(deadlines: Deadlines, *, weeks: int, reason: str, on: dt.date, calendar: TermCalendar,
           most_weeks: int = COMPLAINT_EXTENSION_WEEKS) -> Deadlines:
    """Extend the legal term once (verdaging) by ``weeks``, at most ``most_weeks``, with a reason, before it ends."""
    legal = deadlines.legal
    if legal is None:
        raise DeadlineRefused("the case has no legal term to extend")
    if legal.extension_weeks:
        raise DeadlineRefused(f"the legal term was extended already ({legal.basis} allows it once)")
    if not 0 < weeks <= most_weeks:
        raise DeadlineRefused(f"an extension is 1 to {most_weeks} weeks ({legal.basis})")
    if not reason.strip():
        raise DeadlineRefused("an extension needs its reason, for the party")
    due = deadlines.legal_due(calendar)
    if due is not None and on > due:
        raise DeadlineRefused(f"the legal term ended on {due.isoformat()}: it can no longer be extended")
    return replace(deadlines, legal=replace(legal, days=legal.days + 7 * weeks, extension_weeks=weeks,
                                            extension_reason=reason.strip()))


#: The levels a clock can reach, and by default at which share of its term: a warning when 80% has passed,
#: breached on the due date, escalated when overdue by half the term again.
DEFAULT_LEVELS: dict[str, float] = {"warning": 0.8, "breached": 1.0, "escalated": 1.5}


@dataclass(frozen=True)
class Alarm:
    """The day one clock of a case reaches one level."""

    clock: str  # "service" or "legal"
    level: str
    share: float
    due_on: dt.date


def alarms(deadlines: Deadlines, calendar: TermCalendar, levels: Mapping[str, float] = DEFAULT_LEVELS) -> list[Alarm]:
    """When each clock reaches each level: the service norm counts shares of its working days, the legal term
    shares of its calendar days; at a share of 1 a level falls on the due date itself (the Atw's, for the law)."""
    found = []
    if deadlines.norm_working_days is not None:
        days = deadlines.norm_working_days + deadlines.suspended_working_days
        for level, share in levels.items():
            on = calendar.add_working_days(deadlines.opened_on, math.ceil(share * days))
            found.append(Alarm("service", level, share, on))
    legal, legal_due = deadlines.legal, deadlines.legal_due(calendar)
    if legal is not None and legal_due is not None:
        for level, share in levels.items():
            if share == 1:
                on = legal_due
            elif share < 1:
                on = min(legal.start + dt.timedelta(days=math.ceil(share * legal.days)), legal_due)
            else:
                on = legal_due + dt.timedelta(days=math.ceil((share - 1) * legal.days))
            found.append(Alarm("legal", level, share, on))
    return found
