"""The window around the intake's own clock that a channel's ``received_at`` must lie in. Pure.

A time far ahead (year 9999) overflows the router's deadline arithmetic; one far back (year 1) makes a case
that was due before it was asked. Both are refused with the reason, as a 422.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.intake.exceptions import ImplausibleTime


@dataclass(frozen=True)
class ReceivedWindow:
    """At most ``max_future`` ahead of now (clock skew between systems), at most ``max_age`` back."""

    max_future: dt.timedelta
    max_age: dt.timedelta

    def check(self, received_at: dt.datetime | None, now: dt.datetime, field: str = "received_at") -> None:
        if received_at is None:
            return
        if received_at > now + self.max_future:
            seconds = int(self.max_future.total_seconds())
            raise ImplausibleTime(field, f"lies more than {seconds} seconds after the intake's clock")
        if received_at < now - self.max_age:
            raise ImplausibleTime(field, f"lies more than {self.max_age.days} days before the intake's clock")
