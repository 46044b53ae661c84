"""Routers killed with SIGKILL mid-stream, or joined by another: no decision lost, no case requested twice."""

import asyncio
import os
import random
import signal
from collections import defaultdict

import pytest

from schemas import OpenCase, PartyRef, RoutingDecided
from schemas.topics import CASE_REQUESTS, CONTACTS, DECISIONS
from tests.integration.test_router_rules import by_contact, question
from tests.realstack import eventually

pytestmark = pytest.mark.integration
#: Small batches keep the router busy with sends and commits, where a crash hurts most.
BATCH = {"LOKET_ROUTER_BATCH_SIZE": "20"}
PARTIES = [PartyRef(pseudonym=f"{n:064x}", identified_by="bsn") for n in range(50)]
SUBJECTS = ["container-kapot", "klacht", "paspoort-id", "terugbelverzoek"]
QUESTIONS = [question(f"k-{n}", party=PARTIES[n % 50], subject_code=SUBJECTS[n % 4]) for n in range(4000)]
BACKLOG = 3000  # asked before the first router starts, so that the routers are busy when one dies


async def test_killed_router_loses_no_decision_and_requests_no_case_twice(service, topics):
    await ask(topics, QUESTIONS[:BACKLOG])
    first = await kill_when_decided(topics, service("router", **BATCH), 200)
    second = await kill_when_decided(topics, service("router", **BATCH), 1500)  # again, with state to restore
    await ask(topics, QUESTIONS[BACKLOG:])
    service("router", **BATCH)
    assert first < BACKLOG and second < BACKLOG, (first, second)  # both crashes came mid-stream

    await assert_every_question_decided_once_and_asked_once(topics)


async def test_routers_hand_parties_over_when_one_joins_and_one_dies(service, topics):
    async def trickle() -> None:  # questions keep coming while routers join and die
        for start in range(0, len(QUESTIONS), 50):
            await ask(topics, QUESTIONS[start:start + 50])
            await asyncio.sleep(0.2)

    asking = asyncio.create_task(trickle())
    first = service("router", **BATCH)
    await topics.read(DECISIONS, until=lambda rs: len(rs) >= 200, timeout=90)
    service("router", **BATCH)  # a second router joins mid-stream: the first hands half its parties over

    async def both_routing() -> bool:
        return await topics.group_members("router") == ("Stable", 2)

    await eventually(both_routing, timeout=60)
    decided = await topics.count(DECISIONS)
    await kill_when_decided(topics, first, decided + 200)  # both have routed since: now the first dies
    assert not asking.done()  # mid-stream; the second router takes the first one's parties back
    await asking

    await assert_every_question_decided_once_and_asked_once(topics)


async def ask(topics, questions):
    await topics.produce_many(CONTACTS, [(q.data.partition_key().encode(), q.to_bytes()) for q in questions])


async def kill_when_decided(topics, router, count):
    """Kill the router soon after ``count`` decisions are out; returns how many were out by then."""
    await topics.read(DECISIONS, until=lambda rs: len(rs) >= count, timeout=90)
    await asyncio.sleep(random.uniform(0, 0.1))  # at any point of a batch, not just after its output
    os.killpg(router.pid, signal.SIGKILL)  # no goodbye, no commit, no flush
    router.wait()
    return await topics.count(DECISIONS)


async def assert_every_question_decided_once_and_asked_once(topics):
    wanted = {q.data.contact_id for q in QUESTIONS}
    records = await topics.read(DECISIONS, until=lambda rs: wanted <= set(by_contact(rs)), timeout=240)
    every = defaultdict(set)
    for record in records:  # a redelivered question may be decided twice, but never differently
        d = RoutingDecided.model_validate_json(record.value)
        every[d.data.contact_id].add((d.id, d.data.outcome, d.data.case_id))
    assert all(len(versions) == 1 for versions in every.values()), {c: v for c, v in every.items() if len(v) > 1}

    decided = by_contact(records)
    escalated = {d.question_id: d.case_id for d in decided.values() if d.outcome == "escalated"}
    requests = await topics.read(CASE_REQUESTS, until=lambda rs: set(escalated) <= {
        OpenCase.model_validate_json(r.value).data.question_id for r in rs})
    distinct = defaultdict(set)
    for record in requests:
        request = OpenCase.model_validate_json(record.value)
        distinct[request.data.question_id].add((request.id, request.data.case_id))
    assert {q: {c for _, c in ids} for q, ids in distinct.items()} == {q: {c} for q, c in escalated.items()}
    assert all(len(ids) == 1 for ids in distinct.values())  # one case request per question, however often sent

    per_party_subject = defaultdict(set)
    for d in decided.values():
        if d.subject_code == "container-kapot":  # the one linkable subject of the four
            per_party_subject[d.party_pseudonym].add(d.case_id)
    assert len(per_party_subject) == 25  # parties 0, 2, 4… ask about it (n % 4 == 0)
    assert all(len(cases) == 1 for cases in per_party_subject.values())  # ask once, across every crash
