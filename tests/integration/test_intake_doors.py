"""The doors on the real stack: a telephony platform's and a counter system's reports, a survey tool's scores,
web-form and letter questions with their attachments, and their first replies, posted over HTTP to a running
``loket intake``, become their events on the real contacts topic, in order and each once."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from plumbing.pseudonym import pseudonym
from schemas.calls import CallAnswered, CallEnded, CallOffered
from schemas.feedback import SatisfactionScored
from schemas.topics import CONTACTS
from tests.builders import ChannelSystemAuth
from tests.realstack import free_port, wait_healthy

pytestmark = pytest.mark.integration
SECRET = "phone-door-secret"


def report(id_: str, type_: str, **fields) -> dict:
    at = dt.datetime.now(dt.timezone.utc).isoformat()  # within the intake's window around its clock
    return {"id": id_, "type": type_, "call": "call-7781", "queue": "kcc-algemeen", "at": at, **fields}


async def test_a_calls_reports_become_its_events_in_order_and_each_once(service, topics):
    port = free_port()
    process = service("intake", LOKET_INTAKE_PORT=str(port), LOKET_PSEUDONYM_SECRET=SECRET)
    url = f"http://127.0.0.1:{port}"
    await wait_healthy(url, process=process)
    course = [report("r-1", "queued", caller="06 12345678"), report("r-2", "answered", wait=18.5, agent="a-12"),
              report("r-3", "ended", talk=240, wrapup=30)]
    async with httpx.AsyncClient(base_url=url, timeout=15, auth=ChannelSystemAuth()) as client:
        answers = [await client.post("/v1/call-reports", json=body) for body in course]
        assert [a.status_code for a in answers] == [202] * 3, [a.text for a in answers]
        again = await client.post("/v1/call-reports", json=course[1])  # the platform sends a report again
        assert (again.status_code, again.json()) == (202, answers[1].json())
        changed = await client.post("/v1/call-reports", json={**course[1], "wait": 99})
        assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "id"
        incomplete = await client.post("/v1/call-reports", json=report("r-4", "abandoned"))
        assert incomplete.status_code == 422 and "need wait" in incomplete.text

    records = await topics.read(CONTACTS, until=lambda rs: len(rs) >= 3)
    assert await topics.count(CONTACTS) == 3  # not the report sent again, nor the refused ones
    contact_id = answers[0].json()["contact_id"]
    assert {r.key.decode() for r in records} == {contact_id} and len({r.partition for r in records}) == 1
    offered, answered, ended = (model.model_validate_json(r.value) for model, r in
                                zip((CallOffered, CallAnswered, CallEnded), records))
    assert [offered.id, answered.id, ended.id] == [a.json()["event_id"] for a in answers]
    assert offered.data.party.pseudonym == pseudonym(SECRET.encode(), "phone", "0612345678")
    assert (answered.data.wait_seconds, ended.data.talk_seconds, ended.data.wrap_up_seconds) == (18.5, 240, 30)
    assert all(b"12345678" not in r.value and b"call-7781" not in r.key for r in records)


async def test_a_satisfaction_score_becomes_its_event_once(service, topics):
    port = free_port()
    process = service("intake", LOKET_INTAKE_PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    await wait_healthy(url, process=process)
    score = {"response_id": "kto-481", "contact_id": "c-77", "channel": "phone", "score": 8}
    async with httpx.AsyncClient(base_url=url, timeout=15, auth=ChannelSystemAuth()) as client:
        first = await client.post("/v1/satisfaction-scores", json=score)
        again = await client.post("/v1/satisfaction-scores", json=score)
        changed = await client.post("/v1/satisfaction-scores", json={**score, "score": 3})
        out_of_range = await client.post("/v1/satisfaction-scores",
                                         json={**score, "response_id": "kto-482", "score": 11})
    assert (first.status_code, again.json()) == (202, first.json())
    assert changed.status_code == 422 and changed.json()["errors"][0]["field"] == "response_id"
    assert out_of_range.status_code == 422 and out_of_range.json()["errors"][0]["field"] == "score"
    [record] = await topics.read(CONTACTS, until=lambda rs: len(rs) >= 1)
    assert await topics.count(CONTACTS) == 1 and record.key == b"c-77"
    scored = SatisfactionScored.model_validate_json(record.value)
    assert (scored.id, scored.data.score, scored.data.contact_id) == (first.json()["event_id"], 8, "c-77")


async def test_a_counter_visits_reports_become_its_events_in_order_and_each_once(service, topics):
    port = free_port()
    process = service("intake", LOKET_INTAKE_PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    await wait_healthy(url, process=process)
    now = dt.datetime.now(dt.timezone.utc)
    visit = {"appointment": "afs-123", "queue": "reisdocumenten", "at": now.isoformat()}
    course = [{"id": "v-1", "type": "booked", "slot": (now + dt.timedelta(minutes=5)).isoformat(), **visit},
              {"id": "v-2", "type": "arrived", **visit},
              {"id": "v-3", "type": "called", "slot": (now + dt.timedelta(minutes=5)).isoformat(), "desk": "4",
               **visit},
              {"id": "v-4", "type": "served", "service": 540.0, **visit}]
    async with httpx.AsyncClient(base_url=url, timeout=15, auth=ChannelSystemAuth()) as client:
        answers = [await client.post("/v1/counter-reports", json=body) for body in course]
        assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
        assert (await client.post("/v1/counter-reports", json=course[2])).json() == answers[2].json()
        wrong = await client.post("/v1/counter-reports", json={**course[1], "id": "v-5", "type": "no_show"})
        assert wrong.status_code == 422 and "no_show" in wrong.text
    records = await topics.read(CONTACTS, until=lambda rs: len(rs) >= 4)
    assert await topics.count(CONTACTS) == 4 and len({r.partition for r in records}) == 1
    events = [json.loads(r.value) for r in records]
    assert [e["type"].rsplit(".", 1)[1] for e in events] == ["appointment-booked", "appointment-arrived",
                                                             "appointment-called", "appointment-served"]
    assert [e["id"] for e in events] == [a.json()["event_id"] for a in answers]


async def test_web_and_letter_questions_with_attachments_and_their_first_replies_reach_the_topic(service, topics):
    port = free_port()
    process = service("intake", LOKET_INTAKE_PORT=str(port), LOKET_PSEUDONYM_SECRET=SECRET)
    url = f"http://127.0.0.1:{port}"
    await wait_healthy(url, process=process)
    photo = {"url": "https://formulieren.zeventerpen.nl/bijlagen/7d1e", "name": "kliko.jpg",
             "media_type": "image/jpeg", "size_bytes": 2_400_000}
    scan = {"url": "https://dms.zeventerpen.nl/documenten/9f1c", "name": "brief.pdf", "media_type": "application/pdf",
            "size_bytes": 310_000}
    web_form = {"channel": "web", "text": "Mijn kliko is kapot", "party": {"bsn": "111222333"},  # DigiD's BSN
                "attachments": [photo]}
    letter = {"channel": "letter", "text": "Bezwaar tegen de aanslag", "attachments": [scan],
              "received_at": (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)).isoformat()}
    async with httpx.AsyncClient(base_url=url, timeout=15, auth=ChannelSystemAuth()) as client:
        asked = [await client.post("/v1/questions", json=body, headers={"Idempotency-Key": f"form-{n:04}"})
                 for n, body in enumerate((web_form, letter))]
        assert [a.status_code for a in asked] == [202, 202], [a.text for a in asked]
        replies = [{"id": f"antw-{n}", "contact_id": a.json()["contact_id"], "channel": channel}
                   for n, (a, channel) in enumerate(zip(asked, ("web", "letter")))]
        replied = [await client.post("/v1/first-replies", json=body) for body in replies]
        assert [r.status_code for r in replied] == [202, 202], [r.text for r in replied]
        too_big = await client.post("/v1/questions", json={**letter, "attachments": [{**scan, "size_bytes": 3e7}]})
        assert too_big.status_code == 422 and too_big.json()["errors"][0]["field"] == "attachments.0.size_bytes"

    records = await topics.read(CONTACTS, until=lambda rs: len(rs) >= 4)
    assert await topics.count(CONTACTS) == 4
    by_id = {event["id"]: event for event in (json.loads(r.value) for r in records)}
    web_event, letter_event = (by_id[a.json()["event_id"]] for a in asked)
    assert web_event["data"]["attachments"] == [photo] and letter_event["data"]["attachments"] == [scan]
    assert web_event["data"]["party"]["pseudonym"] == pseudonym(SECRET.encode(), "bsn", "111222333")
    for answer, reply in zip(replied, replies):
        event = by_id[answer.json()["event_id"]]
        assert event["type"] == "nl.loket.contacts.first-reply-sent" and event["data"]["contact_id"] == reply[
            "contact_id"]
    assert all(b"111222333" not in (r.key or b"") for r in records)
