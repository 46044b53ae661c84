"""The simulator's own figures of its day: what it sent, and how the phone queue and the counter fared."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

#: The phone's service level: answered within this many seconds.
SERVICE_LEVEL_SECONDS = 25


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


@dataclass
class PhoneFigures:
    """The phone queue (Erlang-A): calls offered, and what became of them. A caller who hangs up and calls
    again is offered twice."""

    agents: int = 0
    offered: int = 0
    retries: int = 0  # calls by callers who hung up earlier
    abandoned: int = 0
    transferred: int = 0
    answered_waits: list[float] = field(default_factory=list)
    abandoned_waits: list[float] = field(default_factory=list)
    handle_times: list[float] = field(default_factory=list)  # talk and after-call work

    @property
    def answered(self) -> int:
        return len(self.answered_waits)

    @property
    def mean_wait(self) -> float:
        """Average speed of answer: the mean wait of answered calls, in seconds."""
        return mean(self.answered_waits)

    @property
    def p90_wait(self) -> float:
        return percentile(self.answered_waits, 0.9)

    @property
    def service_level(self) -> float:
        """Share of the calls offered that were answered within ``SERVICE_LEVEL_SECONDS``."""
        within = sum(1 for wait in self.answered_waits if wait <= SERVICE_LEVEL_SECONDS)
        return within / self.offered if self.offered else 1.0

    @property
    def abandon_ratio(self) -> float:
        return self.abandoned / self.offered if self.offered else 0.0

    @property
    def mean_handle(self) -> float:
        return mean(self.handle_times)


@dataclass
class CounterFigures:
    """The counter: appointments (booked in the days before) and walk-ins at the information desk."""

    appointments: int = 0
    no_shows: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds from the slot to the call, of those who came
    walk_ins: int = 0
    walk_ins_left: int = 0  # left before they were called: a no-show when their ticket came up
    walk_in_waits: list[float] = field(default_factory=list)


@dataclass
class Figures:
    """Everything the simulator counted of one day."""

    questions: Counter[str] = field(default_factory=Counter)  # per channel
    requests: Counter[str] = field(default_factory=Counter)  # per door of the intake
    repeats: int = 0  # questions about something the same resident asked earlier in the day
    complaints: int = 0
    scores: list[int] = field(default_factory=list)
    replies: Counter[str] = field(default_factory=Counter)  # first replies sent within the run, per channel
    replies_later: int = 0  # written questions whose first reply falls after the run's end
    phone: PhoneFigures = field(default_factory=PhoneFigures)
    counter: CounterFigures = field(default_factory=CounterFigures)
