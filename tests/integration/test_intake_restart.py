"""A retry after the intake restarted: every door's request sent again to a new ``loket intake`` process gets
the first answer and publishes nothing, because the keys it answered are read back from their journal on the
real broker; the same key with another body is still a 422."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from schemas.topics import CONTACTS
from tests.builders import ChannelSystemAuth
from tests.realstack import free_port, wait_healthy

pytestmark = pytest.mark.integration


def requests() -> list[tuple[str, dict, dict]]:
    """(path, body, headers) of one keyed request per door."""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return [
        ("/v1/questions", {"channel": "web", "text": "Mijn kliko is kapot", "party": {"bsn": "111222333"}},
         {"Idempotency-Key": "webform-submit-7781"}),
        ("/v1/call-reports", {"id": "cti-r-1", "type": "queued", "call": "call-1", "queue": "kcc", "at": now}, {}),
        ("/v1/counter-reports", {"id": "qm-r-1", "type": "issued", "ticket": "A001", "queue": "burgerzaken",
                                 "at": now}, {}),
        ("/v1/satisfaction-scores", {"response_id": "kto-r-1", "contact_id": "c-1", "channel": "web", "score": 7,
                                     "scored_at": now}, {}),
    ]


async def started_intake(service) -> tuple[object, str]:
    port = free_port()
    process = service("intake", LOKET_INTAKE_PORT=str(port))
    url = f"http://127.0.0.1:{port}"
    await wait_healthy(url, process=process)
    return process, url


async def test_a_retry_after_a_restart_gets_the_first_answer_and_publishes_nothing(service, topics):
    sent = requests()
    first_process, url = await started_intake(service)
    async with httpx.AsyncClient(base_url=url, timeout=15, auth=ChannelSystemAuth()) as client:
        first = [await client.post(path, json=body, headers=headers) for path, body, headers in sent]
    assert [a.status_code for a in first] == [202] * len(sent), [a.text for a in first]
    first_process.terminate()
    assert first_process.wait(timeout=30) in (0, -15, 143)

    _, url = await started_intake(service)
    async with httpx.AsyncClient(base_url=url, timeout=15, auth=ChannelSystemAuth()) as client:
        # Another body first: the new process knows the key from the journal alone, not from the retries.
        changed_question = await client.post(sent[0][0], json={**sent[0][1], "text": "Iets anders"},
                                             headers=sent[0][2])
        changed_score = await client.post(sent[3][0], json={**sent[3][1], "score": 2})
        again = [await client.post(path, json=body, headers=headers) for path, body, headers in sent]
    assert [(a.status_code, a.json()) for a in again] == [(202, a.json()) for a in first]
    assert changed_question.status_code == 422, changed_question.text
    assert changed_question.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert changed_score.status_code == 422 and changed_score.json()["errors"][0]["field"] == "response_id"
    assert await topics.count(CONTACTS) == len(sent)  # one event per door: the retries published nothing
