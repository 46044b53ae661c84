"""A norm's tallies by the day each contact settled, and the windows over those days. Pure: the clock is
always handed in (docs/norms.md, "Common rules")."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

from plumbing.calendar import dutch_day
from schemas.norms import Window

#: Days each window spans, today included.
WINDOW_DAYS = {Window.TODAY: 1, Window.LAST_7_DAYS: 7, Window.LAST_30_DAYS: 30}


def window_days(window: Window, today: dt.date, *, previous: bool = False) -> frozenset[dt.date]:
    """The days of ``window`` ending ``today``, or (``previous``) of the window of the same length before it."""
    length = WINDOW_DAYS[window]
    last = today - dt.timedelta(days=length) if previous else today
    return frozenset(last - dt.timedelta(days=n) for n in range(length))


@dataclass
class Share:
    """The share of contacts that are "hits" (answered in time, abandoned, repeated: what the measure counts),
    by the day each settled. A contact is counted once, by its key: settled at once, or expected by a deadline.
    An expected contact that settles in time counts on the day it does; one whose deadline passes counts as a
    miss on the deadline's day, from then on, and stays there when it settles late: a past window's figure
    does not change afterwards."""

    hits: Counter[dt.date] = field(default_factory=Counter)
    counted: Counter[dt.date] = field(default_factory=Counter)
    expected: dict[str, dt.datetime] = field(default_factory=dict)  # key: its deadline
    settled: set[str] = field(default_factory=set)
    early: dict[str, dt.datetime] = field(default_factory=dict)  # settled before it was expected: when

    def settle(self, key: str, day: dt.date, hit: bool) -> None:
        """Count contact ``key`` on ``day``, as a hit or not; a key already settled is not counted again."""
        if key in self.settled:
            return
        self.settled.add(key)
        self.expected.pop(key, None)
        self.counted[day] += 1
        self.hits[day] += hit

    def expect(self, key: str, deadline: dt.datetime) -> None:
        """Contact ``key`` should settle by ``deadline`` (a later call moves it: a term extended or resumed). One
        that settled before it was expected (a reply read before its question: they travel in different
        partitions) is counted now."""
        if key in self.settled:
            return
        self.expected[key] = deadline
        if key in self.early:
            self.meet(key, self.early.pop(key))

    def meet(self, key: str, at: dt.datetime) -> None:
        """Contact ``key`` settled ``at``: a hit on that day if by its deadline, else a miss on the deadline's.
        Not expected (yet): kept until it is."""
        deadline = self.expected.get(key)
        if deadline is None:
            if key not in self.settled:
                self.early.setdefault(key, at)
            return
        in_time = at <= deadline
        self.settle(key, dutch_day(at if in_time else deadline), in_time)

    def forget(self, key: str) -> dt.datetime | None:
        """An expected contact not to be counted (for now): its deadline, if it had one."""
        return self.expected.pop(key, None)

    def overdue(self, now: dt.datetime) -> Counter[dt.date]:
        """The contacts overdue at ``now``, by their deadline's day: one pass, for every window at once."""
        return Counter(dutch_day(deadline) for deadline in self.expected.values() if deadline < now)

    def ratio(self, days: Collection[dt.date], now: dt.datetime,
              overdue: Counter[dt.date] | None = None) -> float | None:
        """Hits over contacts counted on ``days``, those overdue at ``now`` counted as misses on their deadline's
        day (``overdue``: those, if already known); None without any."""
        if overdue is None:
            overdue = self.overdue(now)
        counted = sum(self.counted[day] + overdue[day] for day in days)
        if not counted:
            return None
        return sum(self.hits[day] for day in days) / counted


@dataclass
class Mean:
    """The mean of values (scores) by the day each belongs to, each key's value once."""

    sums: Counter[dt.date] = field(default_factory=Counter)
    counted: Counter[dt.date] = field(default_factory=Counter)
    seen: set[str] = field(default_factory=set)

    def add(self, key: str, day: dt.date, value: float) -> None:
        if key in self.seen:
            return
        self.seen.add(key)
        self.sums[day] += value
        self.counted[day] += 1

    def overdue(self, now: dt.datetime) -> None:
        return None  # nothing is expected of a score

    def ratio(self, days: Collection[dt.date], now: dt.datetime, overdue: object = None) -> float | None:
        """The mean over ``days`` (``now`` is not needed: nothing is expected); None without any value."""
        counted = sum(self.counted[day] for day in days)
        return sum(self.sums[day] for day in days) / counted if counted else None
