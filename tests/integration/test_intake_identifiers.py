"""Intake on the real broker: phone numbers travel in E.164, and an impossible one gets 422 naming the field."""

import pytest

from plumbing.pseudonym import pseudonym
from schemas import QuestionAsked
from schemas.topics import CONTACTS
from tests.realstack import INTAKE_TEST_SECRET

pytestmark = pytest.mark.integration
SECRET = INTAKE_TEST_SECRET




async def test_a_phone_number_is_keyed_and_carried_in_e164(intake_client, topics):
    response = await intake_client.post("/v1/questions", json={"channel": "web", "text": "Bel mij terug",
                                                        "party": {"phone": "+31 (0)6 1234 5678"}})
    assert response.status_code == 202
    event_id = response.json()["event_id"]
    records = await topics.read(CONTACTS, until=lambda rs: any(QuestionAsked.model_validate_json(r.value).id == event_id
                                                               for r in rs))
    record = next(r for r in records if QuestionAsked.model_validate_json(r.value).id == event_id)
    assert record.key.decode() == pseudonym(SECRET.encode(), "phone", "06-12345678")
    assert QuestionAsked.model_validate_json(record.value).data.party.personal.phone == "+31612345678"


async def test_an_impossible_phone_number_is_refused_with_the_field_and_the_reason(intake_client):
    response = await intake_client.post("/v1/questions", json={"channel": "web", "text": "Bel mij terug",
                                                        "party": {"phone": "+31 6 1"}})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert (error["field"], error["reason"]) == ("party.phone", "not a phone number: too short")
