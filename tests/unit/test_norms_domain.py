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


def test_a_rule_the_router_does_not_name_is_labelled_other():
    import re
    from pathlib import Path

    from schemas.decisions import RULES
    from services.norms.handlers import rule_label

    assert rule_label("complaint") == "complaint" and rule_label("made-up") == "other"
    source = Path(__file__).resolve().parents[2].joinpath("services/router/domain/rules.py").read_text("utf-8")
    named = set(re.findall(r'q\.decision\(Outcome\.[A-Z]+, "([a-z-]+)"', source))
    named |= set(re.findall(r'rule="([a-z-]+)"', source)) | set(re.findall(r'"([a-z-]+)"\)? if agent', source))
    named |= set(re.findall(r'SubjectKind\.[A-Z]+: "([a-z-]+)"', source))
    named |= set(re.findall(r'\.get\(q\.subject\.kind, "([a-z-]+)"\)', source))
    named |= set(re.findall(r'return "([a-z-]+)"\n', source))
    assert len(named) == len(RULES) and named <= RULES, named - RULES  # every rule the router writes is a label
