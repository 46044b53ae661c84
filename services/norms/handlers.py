"""The norms' decision counters: each decision once in the tally, on the counters while counting."""

from __future__ import annotations

from schemas import RoutingDecided
from schemas.decisions import RULES
from services.norms import metrics
from services.norms.domain import OutcomeTally

OTHER = "other"


def record_decision(decision: RoutingDecided, tally: OutcomeTally, *, counting: bool = True) -> None:
    """Take a decision (the caller takes each id once) into the tally, and on the counters while ``counting``."""
    data = decision.data
    tally.add(data.outcome)
    if counting:
        metrics.DECISIONS.labels(outcome=data.outcome.value, rule=rule_label(data.rule),
                                 channel=data.channel.value).inc()
        publish_first_contact_resolution(tally)


def publish_first_contact_resolution(tally: OutcomeTally) -> None:
    ratio = tally.first_contact_resolution()
    if ratio is not None:
        metrics.FIRST_CONTACT_RESOLUTION.set(ratio)


def rule_label(rule: str) -> str:
    """The rule as a label: one of the router's, else ``other`` (labels come from closed sets only)."""
    return rule if rule in RULES else OTHER
