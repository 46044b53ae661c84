"""Where the simulated day lands on the wall clock: when each request is sent, and the times it carries. Pure.

The intake takes a time only within its window around its own clock (at most 5 minutes ahead, at most 30 days
back), so the simulated times are mapped onto the clock of the run:

- compressed (``speed``: simulated seconds per wall second): the run's start is now, and the day passes
  ``speed`` times faster; each request is sent, and stamped, when its compressed time comes. What came before
  the start (appointments booked days earlier) keeps its distance to the start;
- as fast as possible (no ``speed``): everything is sent at once, as if the day had just ended;
- replayed (``replay``): the simulated times themselves, for a past day within the window, so the same seed
  gives the very same requests, and through the intake the same events.

Durations in the bodies (a call's wait and talk, a visit's service) are simulated seconds throughout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Timeline:
    first: dt.datetime  # the simulated start
    last: dt.datetime  # the last request's simulated time
    began: dt.datetime  # the wall clock when sending began
    speed: float | None  # simulated seconds per wall second; None: as fast as possible
    replay: bool = False

    def due(self, at: dt.datetime) -> float:
        """Wall seconds after ``began`` at which the request of simulated time ``at`` is sent."""
        if self.speed is None:
            return 0.0
        return max(0.0, (at - self.first).total_seconds() / self.speed)

    def stamp(self, at: dt.datetime) -> dt.datetime:
        """The time a request carries for simulated time ``at``."""
        if self.replay:
            return at
        if self.speed is None:
            return self.began - (self.last - at)
        ahead = (at - self.first).total_seconds()
        return self.began + dt.timedelta(seconds=ahead if ahead < 0 else ahead / self.speed)

    def body(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The request's JSON body: its times stamped, in RFC 3339 with their offset, to the millisecond."""
        return {name: self.stamp(value).isoformat(timespec="milliseconds") if isinstance(value, dt.datetime)
                else value for name, value in body.items()}
