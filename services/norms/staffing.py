"""Staffing advice for the phone queue with Erlang C, pure (the norms' domain floor: no I/O, no clock).

Erlang C (M/M/N: Poisson arrivals, exponential handle times, N agents, callers who wait as long as it takes)
answers: with this many calls and this handle time, how likely does a caller wait, how many are answered
within the norm's threshold, and how long is the average wait. Its inverse gives the fewest agents for
which the service level meets its target. Callers do hang up (the simulator's queue is Erlang-A), so
Erlang C errs on the safe side: it advises a little more than an impatient queue needs.

Written here rather than taken from a library: the Python packages for it bring numpy, pandas and a solver
(pyworkforce) or need a licence key (ErlangCCmath), for a formula of a few lines. The probability of waiting
comes from Erlang B's recursion, which stays exact for hundreds of agents, where the textbook form with
powers and factorials overflows.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass, field

#: Beyond this many agents the advice gives up (a rate so high it is a fault in the data, not a queue).
MAX_AGENTS = 10_000


@dataclass(frozen=True)
class QueueFigures:
    """What Erlang C expects of a queue with ``agents`` agents."""

    agents: int
    traffic_erlangs: float  # the agents' worth of work arriving: calls per second × handle time
    wait_probability: float  # P(wait > 0): a caller finds every agent busy
    service_level: float  # share answered within the threshold
    average_speed_of_answer_seconds: float  # ASA over all calls, those answered at once included
    occupancy: float  # share of the agents' time spent handling calls


def erlang_c(agents: int, traffic_erlangs: float) -> float:
    """The probability that a caller waits: 1 when the agents cannot keep up (``agents <= traffic``)."""
    if traffic_erlangs <= 0:
        return 0.0
    if agents <= traffic_erlangs:
        return 1.0
    blocking = 1.0  # Erlang B with 0 agents
    for k in range(1, agents + 1):
        blocking = traffic_erlangs * blocking / (k + traffic_erlangs * blocking)
    return agents * blocking / (agents - traffic_erlangs * (1 - blocking))


def queue_figures(agents: int, calls_per_second: float, handle_seconds: float,
                  threshold_seconds: float) -> QueueFigures:
    """Erlang C's figures for ``agents`` agents taking ``calls_per_second`` calls of ``handle_seconds`` each
    (talk and wrap-up), the service level counted within ``threshold_seconds``."""
    if agents < 0 or calls_per_second < 0 or handle_seconds <= 0 or threshold_seconds < 0:
        raise ValueError("agents, calls and the threshold must not be negative, and a call takes some time")
    traffic = calls_per_second * handle_seconds
    waits = erlang_c(agents, traffic)
    if traffic == 0:
        return QueueFigures(agents, 0.0, 0.0, 1.0, 0.0, 0.0)
    if agents <= traffic:  # the queue grows without end: no one is answered within any threshold in the long run
        return QueueFigures(agents, traffic, 1.0, 0.0, math.inf, 1.0)
    spare = agents - traffic
    return QueueFigures(
        agents=agents,
        traffic_erlangs=traffic,
        wait_probability=waits,
        service_level=1 - waits * math.exp(-spare * threshold_seconds / handle_seconds),
        average_speed_of_answer_seconds=waits * handle_seconds / spare,
        occupancy=traffic / agents,
    )


def agents_needed(calls_per_second: float, handle_seconds: float, threshold_seconds: float,
                  target: float) -> QueueFigures:
    """The fewest agents whose service level within ``threshold_seconds`` is at least ``target`` (a ratio in
    (0, 1)), with that queue's figures; no calls need no agents."""
    if not 0 < target < 1:
        raise ValueError("a service level target is a ratio between 0 and 1")
    agents = math.floor(calls_per_second * handle_seconds) + 1 if calls_per_second > 0 else 0
    while True:
        figures = queue_figures(agents, calls_per_second, handle_seconds, threshold_seconds)
        if figures.service_level >= target:
            return figures
        if agents >= MAX_AGENTS:
            raise ValueError(f"more than {MAX_AGENTS} agents would be needed: check the arrival rate")
        agents += 1


#: The live load is measured over the last half hour of calls offered and the last hour of calls ended.
ARRIVALS_WINDOW = dt.timedelta(minutes=30)
HANDLE_WINDOW = dt.timedelta(hours=1)
#: The next hour is forecast from the same hour of the days before, this many of them at most.
FORECAST_DAYS = 7
#: What the load keeps: the forecast's days and its hour, and an hour spare.
KEPT = dt.timedelta(days=FORECAST_DAYS, hours=2)
#: The load is trimmed once it holds this many calls (and then to what it keeps).
TRIM_EVERY = 50_000


@dataclass(frozen=True)
class StaffingAdvice:
    """How many agents the phone norm needs now and in the next hour, with the load each is worked out from.
    ``None``: no calls seen to work from."""

    now: QueueFigures | None
    next_hour: QueueFigures | None
    calls_per_second: float
    next_hour_calls_per_second: float
    handle_seconds: float | None


@dataclass
class PhoneLoad:
    """The phone queue's load as the calls come in: when each was offered, and each ended call's handle time
    (talk and wrap-up), in time order. Keeps what the forecast needs (``FORECAST_DAYS`` days and an hour before
    the latest call), so a long-running service does not grow, and answers with binary searches: the advice is
    asked at every scrape and every request."""

    offered: list[dt.datetime] = field(default_factory=list)
    handled: list[tuple[dt.datetime, float]] = field(default_factory=list)
    watched_since: dt.datetime | None = None  # the first call ever offered: the load was watched from then
    trim_at: int = TRIM_EVERY  # calls held when the next trim is due: TRIM_EVERY more than the last one left

    def call_offered(self, at: dt.datetime) -> None:
        bisect.insort(self.offered, at)
        if self.watched_since is None or at < self.watched_since:
            self.watched_since = at
        self._trim()

    def call_ended(self, at: dt.datetime, handle_seconds: float) -> None:
        bisect.insort(self.handled, (at, handle_seconds))
        self._trim()

    def forget_before(self, moment: dt.datetime) -> None:
        del self.offered[:bisect.bisect_left(self.offered, moment)]
        del self.handled[:bisect.bisect_left(self.handled, (moment, -math.inf))]

    def advice(self, now: dt.datetime, threshold_seconds: float, target: float) -> StaffingAdvice:
        """Agents for ``target`` of the calls within ``threshold_seconds``: now, from the last half hour's
        arrivals, and in the next hour, from the arrivals in that hour on the days before (their mean); both with
        the last hour's mean handle time. No advice without a handle time to work from."""
        rate = self._offered_between(now - ARRIVALS_WINDOW, now) / ARRIVALS_WINDOW.total_seconds()
        seen = [self._offered_between(now - dt.timedelta(days=d), now - dt.timedelta(days=d, hours=-1))
                for d in range(1, FORECAST_DAYS + 1) if self._has_data(now - dt.timedelta(days=d))]
        next_rate = sum(seen) / len(seen) / 3600 if seen else 0.0
        first = bisect.bisect_left(self.handled, (now - HANDLE_WINDOW, -math.inf))
        handles = [seconds for _, seconds in self.handled[first:bisect.bisect_left(self.handled, (now, -math.inf))]]
        handle = sum(handles) / len(handles) if handles else 0.0
        if handle <= 0:  # no call ended in the last hour, or none took any time: nothing to work from
            return StaffingAdvice(None, None, rate, next_rate, None)
        return StaffingAdvice(agents_needed(rate, handle, threshold_seconds, target),
                              agents_needed(next_rate, handle, threshold_seconds, target) if seen else None,
                              rate, next_rate, handle)

    def _offered_between(self, start: dt.datetime, end: dt.datetime) -> int:
        return bisect.bisect_left(self.offered, end) - bisect.bisect_left(self.offered, start)

    def _has_data(self, day_start: dt.datetime) -> bool:
        """Whether the load was being watched then: any call offered before that moment."""
        return self.watched_since is not None and self.watched_since <= day_start

    def _trim(self) -> None:
        """Forget what no advice needs any more, a batch at a time (not at every call)."""
        if len(self.offered) + len(self.handled) < self.trim_at:
            return
        latest = max(self.offered[-1] if self.offered else dt.datetime.min.replace(tzinfo=dt.timezone.utc),
                     self.handled[-1][0] if self.handled else dt.datetime.min.replace(tzinfo=dt.timezone.utc))
        self.forget_before(latest - KEPT)
        # What a week holds stays; were the next trim due at TRIM_EVERY again, it would run at every call.
        self.trim_at = len(self.offered) + len(self.handled) + TRIM_EVERY
