"""The router process on the real broker: decisions, case requests, and dead letters without stopping."""

import pytest

from schemas import DeadLetter, OpenCase, QuestionAsked, QuestionData, RoutingDecided
from schemas.topics import CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from tests.builders import NOW, SOURCE

pytestmark = pytest.mark.integration


def question(contact_id: str, text: str) -> QuestionAsked:
    data = QuestionData(contact_id=contact_id, channel="web", text=text, received_at=NOW)
    return QuestionAsked.create(source=SOURCE, data=data, subject=contact_id, time=NOW)


def decisions_for(records) -> dict[str, RoutingDecided]:
    decided = (RoutingDecided.model_validate_json(r.value) for r in records)
    return {d.data.contact_id: d for d in decided}


async def test_poison_goes_to_dead_letters_and_the_next_question_still_flows(service, topics):
    service("router")
    await topics.produce(CONTACTS, b"\x00\x01 this is no event", key=b"c-poison")
    await topics.produce(CONTACTS, b'{"specversion": "1.0", "id": "x"}', key=b"c-poison")
    good = question("c-good", "Ik wil mijn grofvuil laten ophalen")
    await topics.produce(CONTACTS, good.to_bytes(), key=b"c-good")

    letters = await topics.read(DEAD_LETTERS, until=lambda rs: len(rs) >= 2, timeout=90)
    parked = sorted((DeadLetter.model_validate_json(r.value) for r in letters), key=lambda d: d.data.offset)
    assert parked[0].data.original_value() == b"\x00\x01 this is no event"
    assert "Invalid JSON" in parked[0].data.reason
    assert "source: Field required" in parked[1].data.reason
    assert all(p.data.source_topic == topics.name(CONTACTS) and p.data.consumer == "router" for p in parked)

    decided = decisions_for(await topics.read(DECISIONS, until=lambda rs: "c-good" in decisions_for(rs)))
    assert decided["c-good"].data.outcome == "escalated"
    assert decided["c-good"].data.question_id == good.id


async def test_answered_and_escalated_questions(service, topics):
    service("router")
    for q in (question("c-1", "Hoe vraag ik een paspoort aan?"), question("c-2", "Mijn kliko is kapot")):
        await topics.produce(CONTACTS, q.to_bytes(), key=q.data.contact_id.encode())

    decided = decisions_for(await topics.read(DECISIONS, until=lambda rs: len(decisions_for(rs)) >= 2, timeout=90))
    assert decided["c-1"].data.outcome == "answered" and decided["c-1"].data.answer
    assert decided["c-2"].data.outcome == "escalated"

    requests = await topics.read(CASE_REQUESTS, until=lambda rs: len(rs) >= 1)
    request = OpenCase.model_validate_json(requests[0].value)
    assert request.data.case_id == decided["c-2"].data.case_id
    assert requests[0].key.decode() == request.data.case_id
    assert request.data.department == "openbare-ruimte"


async def test_a_topic_with_another_partition_count_is_refused_at_start(case_settings, topics):
    from plumbing.exceptions import PartitionMismatch
    from plumbing.kafka import ensure_topics

    wrong = case_settings.model_copy(update={"topic_partitions": case_settings.topic_partitions + 1})
    with pytest.raises(PartitionMismatch, match="LOKET_TOPIC_PARTITIONS"):
        await ensure_topics(wrong, [CONTACTS])
