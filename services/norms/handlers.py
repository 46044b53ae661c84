"""The norms' decision counters: each decision once in the tally, on the counters while counting."""

from __future__ import annotations

from schemas import RoutingDecided
from services.norms import metrics
from services.norms.domain import OutcomeTally


def record_decision(decision: RoutingDecided, tally: OutcomeTally, *, counting: bool = True) -> None:
    """Take a decision (the caller takes each id once) into the tally, and on the counters while ``counting``."""
    data = decision.data
    tally.add(data.outcome)
    if counting:
        metrics.DECISIONS.labels(outcome=data.outcome.value, rule=data.rule.value, channel=data.channel.value).inc()
        publish_first_contact_resolution(tally)


def publish_first_contact_resolution(tally: OutcomeTally) -> None:
    ratio = tally.first_contact_resolution()
    if ratio is not None:
        metrics.FIRST_CONTACT_RESOLUTION.set(ratio)

