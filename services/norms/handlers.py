"""The norms handler: one decision in, the tallies and metrics updated."""

from __future__ import annotations

from schemas import RoutingDecided
from services.norms import metrics
from services.norms.domain import OutcomeTally, RecentIds


def record_decision(decision: RoutingDecided, tally: OutcomeTally, seen: RecentIds) -> bool:
    """Count a decision once, however often it is delivered (its id is stable across redeliveries); whether this
    was its first time."""
    if not seen.first_time(decision.id):
        return False
    data = decision.data
    tally.add(data.outcome)
    metrics.DECISIONS.labels(outcome=data.outcome.value, rule=data.rule, channel=data.channel.value).inc()
    ratio = tally.first_contact_resolution()
    if ratio is not None:
        metrics.FIRST_CONTACT_RESOLUTION.set(ratio)
    return True
