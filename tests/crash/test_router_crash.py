"""Routers killed with SIGKILL mid-stream, or joined by another: no decision lost, no case requested twice, and
every record the same, to the byte, as in a run without crashes."""

import asyncio
import datetime as dt
import json
import os
import random
import signal
from collections import defaultdict

import pytest

from plumbing.kafka import ensure_topics
from schemas import OpenCase, RoutingDecided
from schemas.topics import CASE_REQUESTS, DECISIONS, FIXED_TOPICS, TopicSpec
from services.router.domain.state import HANDLED_LIMIT
from tests.builders import NOW, PARTIES, SUBJECTS, by_contact, question
from tests.realstack import Topics, eventually

pytestmark = pytest.mark.integration
#: Small batches keep the router busy with sends and commits, where a crash hurts most.
BATCH = {"LOKET_ROUTER_BATCH_SIZE": "20"}
QUESTIONS = [question(f"k-{n}", party=PARTIES[n % 50], subject_code=SUBJECTS[n % 4]) for n in range(4000)]
#: Long histories: every party asks far more often than the router remembers questions per party, over
#: two weeks of receipt times, and more often within one batch too, so that what the router forgets is
#: part of what a redelivered batch must not change.
LONG = [question(f"h-{n}", party=PARTIES[n % 10], subject_code=SUBJECTS[n % 4],
                 received_at=NOW - dt.timedelta(minutes=20_000 - n)) for n in range(20_000)]
LONG_BATCH = {"LOKET_ROUTER_BATCH_SIZE": "1000"}
KILLS = (1_500, 7_000, 13_000)  # decisions out when the router is killed: three times, mid-stream


async def test_killed_router_publishes_every_record_as_a_run_without_crashes_does(service, topics):
    assert len(LONG) // 10 > 10 * HANDLED_LIMIT
    reference = await reference_run(service, topics, LONG)

    await topics.ask(LONG)
    decided_at_kill = [await kill_when_decided(topics, service("router", **LONG_BATCH), count) for count in KILLS]
    service("router", **LONG_BATCH)
    assert all(decided < len(LONG) for decided in decided_at_kill), decided_at_kill  # every crash mid-stream

    for spec in (DECISIONS, CASE_REQUESTS):
        records = await topics.read(spec, until=lambda rs: len(by_id(rs)) >= len(reference[spec]), timeout=240)
        assert by_id(records).keys() == reference[spec].keys()
        differing = [difference(r.value, reference[spec][event_id(r.value)]) for r in records
                     if r.value != reference[spec][event_id(r.value)]]  # redelivered copies included
        assert not differing, f"{len(differing)} records differ from the run without crashes: {differing[:3]}"


async def reference_run(service, topics, questions) -> dict[TopicSpec, dict[str, bytes]]:
    """Every decision and case request of a router that routes ``questions`` without a crash, by event id."""
    reference = Topics(topics.settings.model_copy(update={"topic_prefix": f"{topics.settings.topic_prefix}ref."}))
    await ensure_topics(reference.settings, FIXED_TOPICS)  # removed with the test's own: they share its prefix
    await reference.ask(questions)
    router = service("router", LOKET_TOPIC_PREFIX=reference.settings.topic_prefix, **LONG_BATCH)
    decisions = await reference.read(DECISIONS, until=lambda rs: len(rs) >= len(questions), timeout=240)
    escalated = sum(RoutingDecided.model_validate_json(r.value).data.outcome == "escalated" for r in decisions)
    requests = await reference.read(CASE_REQUESTS, until=lambda rs: len(rs) >= escalated)
    router.terminate()
    router.wait(timeout=30)
    assert len(by_id(decisions)) == len(questions) and len(by_id(requests)) == escalated  # no crash: no copies
    return {DECISIONS: by_id(decisions), CASE_REQUESTS: by_id(requests)}


def event_id(value: bytes) -> str:
    return json.loads(value)["id"]


def by_id(records) -> dict[str, bytes]:
    return {event_id(r.value): r.value for r in records}


def difference(value: bytes, expected: bytes) -> dict:
    """The fields (envelope and data) in which a record differs from the reference run's, both ways."""
    got, want = json.loads(value), json.loads(expected)
    fields = {**{k: (got.get(k), want.get(k)) for k in got.keys() | want.keys() if k != "data"},
              **{f"data.{k}": (got["data"].get(k), want["data"].get(k)) for k in got["data"].keys() | want["data"].keys()}}
    return {"id": got["id"], **{k: v for k, v in fields.items() if v[0] != v[1]}}


async def test_routers_hand_parties_over_when_one_joins_and_one_dies(service, topics):
    async def trickle() -> None:  # questions keep coming while routers join and die
        for start in range(0, len(QUESTIONS), 50):
            await topics.ask(QUESTIONS[start:start + 50])
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
