"""When contacts arrive: a daily curve per channel, and Poisson arrivals that follow it. Pure."""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True)
class Curve:
    """How busy a channel is through the day: relative intensity at given hours, linear in between, nothing
    outside them. Only its shape counts: ``rate`` spreads a day's volume over it."""

    points: tuple[tuple[float, float], ...]  # (hour of the day, relative intensity), hours ascending

    def intensity(self, hour: float) -> float:
        hours = [h for h, _ in self.points]
        if not hours[0] <= hour <= hours[-1]:
            return 0.0
        i = bisect_right(hours, hour)
        if i == len(hours):
            return self.points[-1][1]
        (h0, v0), (h1, v1) = self.points[i - 1], self.points[i]
        return v0 + (v1 - v0) * (hour - h0) / (h1 - h0)

    def area(self) -> float:
        """The intensity summed over the day (in intensity-hours)."""
        return sum((h1 - h0) * (v0 + v1) / 2 for (h0, v0), (h1, v1) in zip(self.points, self.points[1:]))

    def rate(self, hour: float, per_day: float) -> float:
        """Arrivals per hour at ``hour`` for ``per_day`` arrivals a day."""
        return per_day * self.intensity(hour) / self.area()

    def peak_rate(self, per_day: float) -> float:
        return per_day * max(v for _, v in self.points) / self.area()


def arrivals(curve: Curve, per_day: float, start_hour: float, end_hour: float, rng: random.Random) -> list[float]:
    """Arrival times (hours of the day) in [start_hour, end_hour) of a Poisson process whose rate follows the
    curve, by thinning: candidates at the peak rate, each kept with the share of the peak the curve has then."""
    peak = curve.peak_rate(per_day)
    found: list[float] = []
    if peak <= 0:
        return found
    hour = start_hour
    while True:
        hour += rng.expovariate(peak)
        if hour >= end_hour:
            return found
        if rng.random() * peak < curve.rate(hour, per_day):
            found.append(hour)


#: Phone: the morning peak after opening at 08:00, a dip at lunch, a smaller one after; closed at 17:00.
PHONE = Curve(((8, 0.9), (8.5, 1.25), (9.5, 1.6), (10.5, 1.5), (11.5, 1.2), (12.5, 0.8), (13.5, 1.1), (14.5, 1.0),
               (15.5, 0.8), (16.5, 0.55), (17, 0.4)))
#: Web forms: all day and night, busiest in office hours and after dinner.
WEB = Curve(((0, 0.2), (7, 0.5), (9, 1.0), (12, 1.1), (14, 1.0), (17, 0.9), (20, 1.2), (23, 0.5), (24, 0.2)))
#: Chat: staffed 09:00-17:00, busiest around lunch.
CHAT = Curve(((9, 0.8), (11, 1.2), (13, 1.3), (15, 1.0), (17, 0.7)))
#: E-mail: through the day, a little less at night.
EMAIL = Curve(((0, 0.3), (7, 0.6), (9, 1.1), (13, 1.0), (17, 0.9), (21, 0.8), (24, 0.3)))
#: Letters: the post room registers the morning's post between 10:00 and 12:00.
LETTER = Curve(((10, 1.0), (12, 1.0)))
#: Walk-ins at the information desk, 09:00-16:00 (the rest of the counter works by appointment).
WALK_IN = Curve(((9, 0.8), (11, 1.2), (13, 1.0), (16, 0.6)))
