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
    from plumbing.organisation import load_organisation
    from services.norms.reading import Reading
    from tests.builders import decision

    reading = Reading(load_organisation())
    for _ in range(3):
        reading.take(decision("q-1"))
    assert reading.tally.total == 1
