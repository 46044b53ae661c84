"""Intake rules: identifiers, pseudonyms and keys."""

import datetime as dt

import pytest

from plumbing.pseudonym import pseudonym
from schemas.envelope import source_urn
from schemas.intake import PartyIdentifiers, QuestionSubmission
from services.intake.domain import bsn_is_valid, party_ref, question_event
from services.intake.exceptions import InvalidIdentifier

SECRET = b"test-secret"
NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)
VALID_BSN = "111222333"


def event_for(**body):
    ids = iter(["contact-1", "event-1"])
    return question_event(QuestionSubmission(**body), secret=SECRET, source=source_urn("0" * 20, "t"), now=NOW,
                          new_id=lambda: next(ids))


@pytest.mark.parametrize("bsn,valid", [("111222333", True), ("123456782", True), ("123456789", False),
                                       ("000000000", False), ("12345678", False), ("12345678a", False)])
def test_bsn_eleven_test(bsn, valid):
    assert bsn_is_valid(bsn) is valid


def test_invalid_bsn_is_refused_with_the_field_named():
    with pytest.raises(InvalidIdentifier) as refused:
        party_ref(PartyIdentifiers(bsn="123456789"), SECRET)
    assert refused.value.field == "party.bsn"


def test_strongest_identifier_makes_the_pseudonym():
    ref = party_ref(PartyIdentifiers(bsn=VALID_BSN, email="a@example.org"), SECRET)
    assert ref.identified_by == "bsn"
    assert ref.pseudonym == pseudonym(SECRET, "bsn", VALID_BSN)


def test_key_and_subject_are_the_pseudonym_never_the_bsn():
    event = event_for(channel="web", text="paspoort", party={"bsn": VALID_BSN})
    assert event.data.partition_key() == event.subject == pseudonym(SECRET, "bsn", VALID_BSN)
    assert VALID_BSN not in event.subject
    assert VALID_BSN not in event.model_dump_json(include={"id", "source", "type", "subject"})


def test_unknown_party_is_keyed_by_contact_id():
    event = event_for(channel="phone", text="vraag")
    assert event.data.party is None
    assert event.data.partition_key() == "contact-1"


def test_same_phone_number_in_other_spellings_gives_one_pseudonym():
    spellings = ["06-12345678", "+31 6 12345678", "0031612345678"]
    assert len({pseudonym(SECRET, "phone", s) for s in spellings}) == 1


def test_a_question_needs_a_subject_code_or_text():
    with pytest.raises(ValueError, match="subject_code or text"):
        QuestionSubmission(channel="web")
