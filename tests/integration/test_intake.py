"""Intake on the real broker: a question becomes a durable event keyed by pseudonym; bad input gets 4xx."""

from collections.abc import AsyncIterator

import httpx
import pytest

from plumbing.pseudonym import pseudonym
from schemas import QuestionAsked
from schemas.topics import CONTACTS
from services.intake.http import create_app
from services.intake.settings import IntakeSettings

pytestmark = pytest.mark.integration
BSN = "111222333"
SECRET = "integration-secret"


@pytest.fixture
async def client(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntakeSettings(**{k.removeprefix("LOKET_").lower(): v for k, v in env.items()},
                              pseudonym_secret=SECRET)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
            yield client


async def test_question_is_published_keyed_by_pseudonym_never_the_bsn(client, topics):
    response = await client.post("/v1/questions", json={
        "channel": "phone", "text": "Mijn kliko is kapot", "party": {"bsn": BSN, "name": "J. Jansen"}})
    assert response.status_code == 202
    event_id = response.json()["event_id"]

    records = await topics.read(CONTACTS, until=lambda rs: any(QuestionAsked.model_validate_json(r.value).id == event_id
                                                               for r in rs))
    record = next(r for r in records if QuestionAsked.model_validate_json(r.value).id == event_id)
    assert record.key.decode() == pseudonym(SECRET.encode(), "bsn", BSN)
    assert BSN.encode() not in record.key
    assert all(BSN.encode() not in value for _, value in record.headers)
    event = QuestionAsked.model_validate_json(record.value)
    assert event.subject == record.key.decode()
    assert event.data.party.personal.bsn == BSN  # the back office needs it; it travels in data only


async def test_anonymous_question_is_keyed_by_our_contact_id_not_the_channels_reference(client, topics):
    response = await client.post("/v1/questions", json={"channel": "phone", "subject_code": "grofvuil",
                                                        "channel_reference": "0612345678"})
    assert response.status_code == 202
    contact_id = response.json()["contact_id"].encode()
    records = await topics.read(CONTACTS, until=lambda rs: any(r.key == contact_id for r in rs))
    record = next(r for r in records if r.key == contact_id)
    assert QuestionAsked.model_validate_json(record.value).data.channel_reference == "0612345678"
    assert b"0612345678" not in record.key


async def test_a_retry_with_the_same_idempotency_key_is_the_same_question(client):
    body = {"channel": "web", "text": "Mijn kliko is kapot"}
    first = await client.post("/v1/questions", json=body, headers={"Idempotency-Key": "form-submit-8812"})
    retry = await client.post("/v1/questions", json=body, headers={"Idempotency-Key": "form-submit-8812"})
    other = await client.post("/v1/questions", json=body, headers={"Idempotency-Key": "form-submit-8813"})
    assert first.status_code == retry.status_code == other.status_code == 202
    assert first.json() == retry.json()
    assert other.json()["event_id"] != first.json()["event_id"]


async def test_a_nul_byte_in_the_text_is_refused_before_it_reaches_the_stream(client):
    response = await client.post("/v1/questions", json={"channel": "web", "text": "kliko\u0000kapot"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "text"


async def test_invalid_body_gets_problem_json_naming_the_fields(client):
    response = await client.post("/v1/questions", json={"channel": "fax", "text": ""})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"channel", "text"} <= fields


async def test_bsn_failing_the_eleven_test_is_refused(client):
    response = await client.post("/v1/questions", json={"channel": "web", "text": "x", "party": {"bsn": "123456789"}})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "party.bsn", "reason": "not a valid BSN (it fails the eleven test)"}]
    assert "123456789" not in response.text  # the refusal does not echo personal data


async def test_malformed_json_is_a_400(client):
    response = await client.post("/v1/questions", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["title"] == "Malformed JSON"
