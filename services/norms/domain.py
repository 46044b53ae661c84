"""Norm maths, pure: tallies of routing outcomes and the first-contact-resolution ratio."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.decisions import FRONT_OFFICE_OUTCOMES, Outcome


class RecentIds:
    """The last ``capacity`` event ids seen, to recognise a redelivered event (at-least-once input)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._ids: dict[str, None] = {}  # insertion-ordered: the oldest first

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is seen; False for a repeat within the window."""
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._capacity:
            del self._ids[next(iter(self._ids))]
        return True


@dataclass
class OutcomeTally:
    """Counts decisions by outcome.

    First-contact resolution (FCR) is the share of questions closed in the front office at first
    contact — answered at once or correctly referred — as in the Antwoord© aim of 80%.
    """

    counts: Counter[Outcome] = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def first_contact_resolution(self) -> float | None:
        """The FCR ratio in [0, 1]; None before the first decision (no data is not 0%)."""
        if not self.total:
            return None
        resolved = sum(n for outcome, n in self.counts.items() if outcome in FRONT_OFFICE_OUTCOMES)
        return resolved / self.total
