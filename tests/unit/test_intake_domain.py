"""Intake rules: identifiers, pseudonyms and keys."""

import datetime as dt

import pytest
from pydantic import ValidationError

from plumbing.pseudonym import normalise, pseudonym
from schemas.envelope import source_urn
from schemas.intake import PartyIdentifiers, QuestionSubmission
from services.intake.domain import bsn_is_valid, ids_for, party_ref, question_event
from services.intake.exceptions import InvalidIdentifier

SECRET = b"test-secret"
NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)
VALID_BSN = "111222333"


def event_for(**body):
    return question_event(QuestionSubmission(**body), secret=SECRET, source=source_urn("0" * 20, "t"), now=NOW,
                          event_id="event-1", contact_id="contact-1")


@pytest.mark.parametrize("bsn,valid", [("111222333", True), ("123456782", True), ("123456789", False),
                                       ("000000000", False), ("12345678", False), ("12345678a", False),
                                       ("１１１２２２３３３", False), ("12345672", False), ("111 222 333", False)])
def test_bsn_is_nine_digits_passing_the_eleven_test(bsn, valid):
    # stdnum alone would pad "12345672" to a valid 012345672 and read "111 222 333"; the API asks for nine digits.
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
    spellings = ["06-12345678", "+31 6 12345678", "0031612345678", "+31 (0)6 1234 5678"]
    assert {normalise("phone", s) for s in spellings} == {"+31612345678"}
    assert len({pseudonym(SECRET, "phone", s) for s in spellings}) == 1


def test_an_amsterdam_number_and_an_egyptian_one_with_the_same_digits_are_two_parties():
    assert (normalise("phone", "020-1234567"), normalise("phone", "+20 1234567")) == ("+31201234567", "+201234567")
    assert pseudonym(SECRET, "phone", "020-1234567") != pseudonym(SECRET, "phone", "+20 1234567")


def test_the_phone_number_travels_in_e164():
    event = event_for(channel="web", text="bel mij", party={"phone": "06-12345678"})
    assert event.data.party.identified_by == "phone"
    assert event.data.party.personal.phone == "+31612345678"
    assert event.subject == pseudonym(SECRET, "phone", "+31 6 12345678")


def test_an_e_mail_address_in_other_case_or_spelling_stays_one_party():
    spellings = ["jan.jansen@example.org", "Jan.Jansen@Example.ORG", " JAN.JANSEN@EXAMPLE.ORG "]
    assert len({pseudonym(SECRET, "email", s) for s in spellings}) == 1
    assert pseudonym(SECRET, "email", "jan@bücher.de") == pseudonym(SECRET, "email", "jan@xn--bcher-kva.de")
    assert pseudonym(SECRET, "email", "jan.jansen@example.org") != pseudonym(SECRET, "email", "jan.jansen@example.com")


def test_the_e_mail_address_travels_as_given_for_the_answer():
    event = event_for(channel="web", text="vraag", party={"email": "Jan.Jansen@example.org"})
    assert event.data.party.personal.email == "Jan.Jansen@example.org"
    assert event.subject == pseudonym(SECRET, "email", "jan.jansen@example.org")


def test_a_bsn_and_a_kvk_number_with_the_same_digits_never_collide():
    assert pseudonym(SECRET, "bsn", "12345678") != pseudonym(SECRET, "kvk", "12345678")


def test_a_question_needs_a_subject_code_or_text():
    with pytest.raises(ValueError, match="subject_code or text"):
        QuestionSubmission(channel="web")


def test_the_channels_own_reference_is_data_never_the_key():
    event = event_for(channel="phone", text="vraag", channel_reference="0612345678")
    assert event.data.channel_reference == "0612345678"
    assert event.data.partition_key() == event.subject == "contact-1"


@pytest.mark.parametrize("phone,reason", [("((((((", "not a phone number"), ("------", "not a phone number"),
                                          ("+31 (0)", "too short"), ("+31 6 1", "too short"),
                                          ("0612345678901234", "too long")])
def test_a_phone_number_that_is_not_a_possible_one_is_refused(phone, reason):
    with pytest.raises(InvalidIdentifier, match=reason) as refused:
        party_ref(PartyIdentifiers(phone=phone), SECRET)
    assert refused.value.field == "party.phone"
    assert phone not in refused.value.reason


@pytest.mark.parametrize("phone", ["12", "abc"])
def test_an_unreadable_phone_number_is_refused_by_the_api_and_by_the_rules(phone):
    with pytest.raises(ValidationError):
        PartyIdentifiers(phone=phone)
    with pytest.raises(InvalidIdentifier, match="not a phone number") as refused:
        party_ref(PartyIdentifiers.model_construct(phone=phone), SECRET)  # past the API's pattern
    assert refused.value.field == "party.phone"


def test_a_bsn_beside_a_phone_number_still_keys_the_party_but_the_phone_must_be_possible():
    with pytest.raises(InvalidIdentifier):
        party_ref(PartyIdentifiers(bsn=VALID_BSN, phone="+31 6 1"), SECRET)
    assert party_ref(PartyIdentifiers(bsn=VALID_BSN, phone="06-12345678"), SECRET).identified_by == "bsn"


def test_an_idempotency_key_gives_the_same_ids_on_every_retry():
    fresh = iter(["a", "b", "c", "d"])
    assert ids_for("retry-key-1", lambda: next(fresh)) == ids_for("retry-key-1", lambda: next(fresh))
    assert ids_for("retry-key-1", lambda: "x") != ids_for("retry-key-2", lambda: "x")
    assert ids_for(None, lambda: next(fresh)) == ("a", "b")


@pytest.mark.parametrize("field", ["text", "name"])
def test_control_characters_in_free_text_are_refused(field):
    body = {"channel": "web", "text": "vraag"}
    if field == "text":
        body["text"] = "mijn kliko\x00 is kapot"
    else:
        body["party"] = {"name": "Jan\x00"}
    with pytest.raises(ValueError, match="control characters"):
        QuestionSubmission(**body)
