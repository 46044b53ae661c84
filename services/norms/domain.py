"""Norm maths, pure: tallies of routing outcomes and the first-contact-resolution ratio."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.decisions import FRONT_OFFICE_OUTCOMES, Outcome


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
