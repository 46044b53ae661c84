"""Norm maths: the first-contact-resolution ratio."""

from schemas import Outcome
from services.norms.domain import OutcomeTally


def test_no_decisions_means_no_ratio_rather_than_zero():
    assert OutcomeTally().first_contact_resolution() is None


def test_answered_and_referred_count_as_resolved_at_first_contact():
    tally = OutcomeTally()
    for outcome in [Outcome.ANSWERED] * 6 + [Outcome.REFERRED] * 2 + [Outcome.ESCALATED, Outcome.LINKED]:
        tally.add(outcome)
    assert tally.total == 10
    assert tally.first_contact_resolution() == 0.8


def test_a_redelivered_decision_is_counted_once():
    from schemas import DecisionData, RoutingDecided
    from services.norms.domain import RecentIds
    from services.norms.handlers import record_decision
    from tests.builders import NOW, SOURCE

    data = DecisionData(question_id="q", contact_id="c", channel="web", subject_code="s", outcome="answered",
                        rule="front-office-answer", reason="r", decided_at=NOW)
    decision = RoutingDecided.create(source=SOURCE, data=data, id="d-1", time=NOW)
    tally, seen = OutcomeTally(), RecentIds()
    for _ in range(3):
        record_decision(decision, tally, seen)
    assert tally.total == 1


def test_recent_ids_forget_the_oldest_beyond_capacity():
    from services.norms.domain import RecentIds

    seen = RecentIds(capacity=2)
    assert [seen.first_time(i) for i in ("a", "b", "a", "c", "a")] == [True, True, False, True, True]
