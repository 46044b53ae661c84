"""Intake on the real broker: a question becomes a durable event keyed by pseudonym; bad input gets 4xx."""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from plumbing.pseudonym import pseudonym
from schemas import QuestionAsked
from schemas.topics import CONTACTS
from services.intake.http import API_VERSION
from tests.realstack import INTAKE_TEST_SECRET

pytestmark = pytest.mark.integration
BSN = "111222333"
SECRET = INTAKE_TEST_SECRET




async def test_question_is_published_keyed_by_pseudonym_never_the_bsn(intake_client, topics):
    response = await intake_client.post("/v1/questions", json={
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


async def test_anonymous_question_is_keyed_by_our_contact_id_not_the_channels_reference(intake_client, topics):
    response = await intake_client.post("/v1/questions", json={"channel": "phone", "subject_code": "grofvuil",
                                                        "channel_reference": "0612345678"})
    assert response.status_code == 202
    contact_id = response.json()["contact_id"].encode()
    records = await topics.read(CONTACTS, until=lambda rs: any(r.key == contact_id for r in rs))
    record = next(r for r in records if r.key == contact_id)
    assert QuestionAsked.model_validate_json(record.value).data.channel_reference == "0612345678"
    assert b"0612345678" not in record.key


async def test_a_retry_with_the_same_idempotency_key_is_the_same_question_published_and_counted_once(intake_client, topics):
    body = {"channel": "web", "text": "Mijn kliko is kapot"}
    before = await _samples(intake_client)
    first = await intake_client.post("/v1/questions", json=body, headers={"Idempotency-Key": "form-submit-8812"})
    retry = await intake_client.post("/v1/questions", json={**body, "party": None},  # the same body, spelled otherwise
                              headers={"Idempotency-Key": "form-submit-8812"})
    other = await intake_client.post("/v1/questions", json=body, headers={"Idempotency-Key": "form-submit-8813"})
    assert first.status_code == retry.status_code == other.status_code == 202
    assert first.json() == retry.json()
    assert other.json()["event_id"] != first.json()["event_id"]

    after = await _samples(intake_client)
    assert after["loket_intake_questions_accepted_total", "web"] - before.get(("loket_intake_questions_accepted_total",
                                                                               "web"), 0) == 2
    assert after["loket_intake_questions_replayed_total", "web"] - before.get(("loket_intake_questions_replayed_total",
                                                                               "web"), 0) == 1
    assert await topics.count(CONTACTS) == 2  # every publish was acknowledged before its answer
    records = await topics.read(CONTACTS, until=lambda rs: len(rs) == 2)
    ids = [QuestionAsked.model_validate_json(r.value).id for r in records]
    assert sorted(ids) == sorted([first.json()["event_id"], other.json()["event_id"]])


async def test_an_idempotency_key_reused_with_another_body_is_refused_and_never_published(intake_client, topics):
    key = {"Idempotency-Key": "form-submit-9901"}
    first = await intake_client.post("/v1/questions", json={"channel": "web", "text": "Mijn kliko is kapot"}, headers=key)
    reused = await intake_client.post("/v1/questions", json={"channel": "web", "text": "Wanneer is de milieustraat open?"},
                               headers=key)
    assert first.status_code == 202
    assert reused.status_code == 422
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.headers["api-version"] == API_VERSION
    assert reused.json()["errors"] == [{"field": "header.Idempotency-Key",
                                        "reason": "was used with another body; use a new key for a new question"}]
    assert await topics.count(CONTACTS) == 1  # every publish was acknowledged before its answer
    [record] = await topics.read(CONTACTS, until=lambda rs: len(rs) == 1)
    assert QuestionAsked.model_validate_json(record.value).data.text == "Mijn kliko is kapot"


async def test_a_nul_byte_in_the_text_is_refused_before_it_reaches_the_stream(intake_client):
    response = await intake_client.post("/v1/questions", json={"channel": "web", "text": "kliko\u0000kapot"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "text"


async def test_invalid_body_gets_problem_json_naming_the_fields(intake_client):
    response = await intake_client.post("/v1/questions", json={"channel": "fax", "text": ""})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"channel", "text"} <= fields


async def test_bsn_failing_the_eleven_test_is_refused(intake_client):
    response = await intake_client.post("/v1/questions", json={"channel": "web", "text": "x", "party": {"bsn": "123456789"}})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "party.bsn", "reason": "not a valid BSN (it fails the eleven test)"}]
    assert "123456789" not in response.text  # the refusal does not echo personal data


async def test_malformed_json_is_a_400_problem(intake_client):
    response = await intake_client.post("/v1/questions", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["api-version"] == API_VERSION
    assert response.json()["title"] == "Bad Request"
    assert "not JSON" in response.json()["detail"]


async def _samples(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """The intake's counters by (sample name, channel), as /metrics shows them."""
    text = (await client.get("/metrics")).text
    return {(s.name, s.labels.get("channel", "")): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}
