"""Recurring problems (Ontvankelijk): per ISO week the subjects that come back in complaints, in repeat contacts
and in referrals, counted from the router's decisions. Pure: decisions and the clock are handed in."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from plumbing.calendar import dutch_day
from plumbing.organisation import Organisation, SubjectKind
from schemas.decisions import DecisionData, Outcome
from schemas.norms import RecurringProblems, RecurringWeek, SubjectCount

#: Weeks a report shows by default (this one and the three before), and subjects per list.
WEEKS = 4
TOP = 10
UNRECOGNISED = "Onderwerp niet herkend"
_LISTS = ("complaints", "repeat_contacts", "referrals")


class Recurring:
    """The weekly counts. ``observe`` each decision once (the caller deduplicates by event id)."""

    def __init__(self, organisation: Organisation) -> None:
        self._organisation = organisation
        self._complaint_subjects = {s.code for s in organisation.subjects if s.kind is SubjectKind.COMPLAINT}
        self._weeks: dict[dt.date, dict[str, Counter[str | None]]] = {}  # Monday: list: subject: count

    def observe(self, decision: DecisionData) -> None:
        day = dutch_day(decision.decided_at)
        monday = day - dt.timedelta(days=day.weekday())
        week = self._weeks.setdefault(monday, {name: Counter() for name in _LISTS})
        if decision.subject_code in self._complaint_subjects:
            week["complaints"][self._known(decision.about_subject)] += 1
        if decision.repeat_contact:
            week["repeat_contacts"][self._known(decision.subject_code)] += 1
        if decision.outcome is Outcome.REFERRED:
            week["referrals"][self._known(decision.subject_code)] += 1

    def report(self, now: dt.datetime, weeks: int = WEEKS, top: int = TOP) -> RecurringProblems:
        """The ``weeks`` latest weeks up to ``now``'s, the latest first; each list its ``top`` subjects."""
        today = dutch_day(now)
        this_monday = today - dt.timedelta(days=today.weekday())
        shown = []
        for n in range(weeks):
            monday = this_monday - dt.timedelta(weeks=n)
            counts = self._weeks.get(monday, {})
            iso = monday.isocalendar()
            shown.append(RecurringWeek(week=f"{iso.year}-W{iso.week:02d}", starts=monday,
                                       **{name: self._top(counts.get(name, Counter()), top) for name in _LISTS}))
        return RecurringProblems(organisation=self._organisation.name, measured_at=now, weeks=tuple(shown))

    def _top(self, counts: Counter[str | None], top: int) -> tuple[SubjectCount, ...]:
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0] or ""))[:top]
        return tuple(SubjectCount(subject=code, title=self._title(code), count=n) for code, n in ranked)

    def _known(self, code: str | None) -> str | None:
        """A subject of the catalog, or None: a report the public may see shows no text it was merely sent."""
        return code if code is not None and self._organisation.subject(code) is not None else None

    def _title(self, code: str | None) -> str:
        subject = self._organisation.subject(code) if code else None
        return subject.title if subject is not None else UNRECOGNISED
