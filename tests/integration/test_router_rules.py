"""The one-desk rules through the router process on the real broker, and its state across a crash."""

import asyncio
import datetime as dt
import os

import pytest
from aiokafka.partitioner import murmur2

from schemas import CaseResolved, CaseResolvedData, OpenCase, PartyRef
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, DECISIONS
from tests.builders import NOW, PARTY, SOURCE, by_contact, question

pytestmark = pytest.mark.integration


async def ask(topics, *questions):
    for q in questions:  # one at a time, each produced before the next
        await topics.ask([q])


async def decisions(topics, count, timeout=90):
    return by_contact(await topics.read(DECISIONS, until=lambda rs: len(by_contact(rs)) >= count, timeout=timeout))


async def test_second_question_on_open_case_links_until_the_case_is_resolved(service, topics):
    service("router")
    await ask(topics, question("c-1", subject_code="container-kapot"))
    first = (await decisions(topics, 1))["c-1"]
    await ask(topics, question("c-2", "Mijn kliko is nog steeds kapot", channel="phone"))
    second = (await decisions(topics, 2))["c-2"]

    assert first.outcome == "escalated" and second.outcome == "linked"
    assert second.case_id == first.case_id and second.rule == "ask-once-link"
    assert second.repeat_contact is True
    requests = await topics.read(CASE_REQUESTS, until=lambda rs: len(rs) >= 1)
    assert {OpenCase.model_validate_json(r.value).data.case_id for r in requests} == {first.case_id}
    decision_keys = {r.key for r in await topics.read(DECISIONS, until=lambda rs: len(rs) >= 2)}
    assert decision_keys == {PARTY.pseudonym.encode()}  # decisions are keyed like the contacts: by pseudonym

    resolved = CaseResolved.create(source=SOURCE, subject=first.case_id, time=NOW, data=CaseResolvedData(
        case_id=first.case_id, subject_code="container-kapot", department="openbare-ruimte",
        party_pseudonym=PARTY.pseudonym, resolved_at=NOW))
    await topics.produce(CASE_EVENTS, resolved.to_bytes(), key=first.case_id.encode())

    async def third_escalates() -> bool:
        await ask(topics, question(f"c-3-{os.urandom(2).hex()}", subject_code="container-kapot"))
        latest = await decisions(topics, 3)
        return any(d.outcome == "escalated" and d.case_id != first.case_id for d in latest.values())

    from tests.realstack import eventually

    await eventually(third_escalates, timeout=60, interval=2)


async def test_referral_complaint_callback_unknown_and_the_same_answer_on_every_channel(service, topics):
    service("router")
    await ask(topics,
              question("referral", subject_code="toeslagen"),
              question("complaint", subject_code="klacht", party=None),
              question("callback", subject_code="terugbelverzoek", party=None),
              question("unknown", "Xyzzy plugh, hoe zit dat?", party=None),
              question("phone", subject_code="paspoort-id", channel="phone", party=None),
              question("web", subject_code="paspoort-id", channel="web", party=None))
    decided = await decisions(topics, 6)

    assert decided["referral"].outcome == "referred" and decided["referral"].referral.organisation == "Belastingdienst"
    assert decided["complaint"].rule == "complaint"
    assert decided["complaint"].due_date == NOW.date() + dt.timedelta(weeks=6)
    assert decided["callback"].rule == "callback"
    assert decided["unknown"].subject_code == "algemeen" and decided["unknown"].rule == "general-subject"
    assert decided["phone"].outcome == decided["web"].outcome == "answered"
    assert decided["phone"].answer == decided["web"].answer and decided["phone"].answer

    requests = await topics.read(CASE_REQUESTS, until=lambda rs: len(rs) >= 3)
    opened = {OpenCase.model_validate_json(r.value).data.contact_id: OpenCase.model_validate_json(r.value).data
              for r in requests}
    assert opened["complaint"].legal_basis == "Awb art. 9:11"
    assert opened["callback"].case_type == "terugbelverzoek"


async def test_a_party_with_nothing_recent_is_forgotten_and_a_recent_one_is_not(service, topics):
    service("router")
    quiet = PartyRef(pseudonym="c" * 64, identified_by="bsn")
    busy = next(PartyRef(pseudonym=f"{n:064x}", identified_by="bsn") for n in range(100)
                if same_partition(f"{n:064x}", quiet.pseudonym))  # each partition expires by its own clock
    await ask(topics, question("long-ago", subject_code="paspoort-id", party=quiet, received_at=NOW - dt.timedelta(days=10)),
              question("today", subject_code="paspoort-id", party=busy))  # the partition's latest question: its clock

    def forgotten(records) -> bool:
        return any(r.key == quiet.pseudonym.encode() and r.value is None for r in records)

    await topics.read("loket-router-party-state-changelog", until=forgotten, timeout=30)  # a tombstone: compacted away
    await asyncio.sleep(2.5)  # swept again since
    await ask(topics, question("today-again", subject_code="paspoort-id", channel="phone", party=busy))
    assert (await decisions(topics, 3))["today-again"].repeat_contact is True  # today's question is remembered


def same_partition(key: str, other: str, partitions: int = 2) -> bool:
    """Would the producer's default partitioner put both keys in the same partition (of the tests' two)?"""
    def partition(k: str) -> int:
        return (murmur2(k.encode()) & 0x7FFFFFFF) % partitions
    return partition(key) == partition(other)
