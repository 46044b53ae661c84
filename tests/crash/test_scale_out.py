"""Routers and case workers scaled out and back in while questions keep coming (issue 12: "a test with 12
partitions: 3 routers and 2 case workers, scaled 1 → 3 → 1 while questions flow: every question decided once and
the same way, no duplicate case, nothing lost").

Read as: on a deployment of 12 partitions, routers go 1 → 2 → 3 → 2 → 1 processes and case workers (``loket
cases``, which stores the case requests in PostgreSQL) 1 → 2 → 1, while a steady trickle of questions from 100
parties, spread over all 12 partitions, arrives on the contacts topic; every step is taken, and done, while the
questions still come. One router leaves by SIGTERM and hands its partitions over; the other router and a case
worker are killed with SIGKILL, so their partitions wait for the session timeout, and what they had not committed
is delivered again. A step is done when its group is stable with the new number of members, a joiner has handled
batches of its own, and the work has gone on since the group settled. Once it settled, the chunk of questions
sent last before the step is sent again, as a redelivery would bring them: whoever holds their parties after the
hand-over must decide them as the first time, and the case requests that come again must open no second case.

Then: every question is decided, every copy of its decision the same to the byte, and decided as the one-desk
rules decide the stream in order (as one router alone would); every escalated question has one case request and
one case in PostgreSQL, and there is no other case; every decision is in the contact history once; no dead
letters; and a party's open case on the linkable subject took all its later questions on that subject, whichever
router held the party at the time: ask once, across every hand-over.
"""

import asyncio
import os
import random
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import httpx
import pytest

from plumbing.kafka import ensure_topics, partition_of
from schemas import OpenCase, PartyRef, QuestionAsked, RoutingDecided
from schemas.topics import CASE_REQUESTS, DEAD_LETTERS, DECISIONS, FIXED_TOPICS, Service
from services.case.settings import CaseSettings
from services.router.domain.rules import case_id_for
from tests.builders import SUBJECTS, by_contact, question
from tests.realstack import Topics, deployment_env, eventually, free_port, metrics_sum

pytestmark = pytest.mark.integration
PARTITIONS = 12
PARTIES = [PartyRef(pseudonym=f"{n:064x}", identified_by="bsn") for n in range(100)]
#: Of ``SUBJECTS``: the one whose open case takes the party's later questions on it, and the one answered at once
#: (the other two, a complaint and a callback request, are a case each time).
LINKABLE, ANSWERED = "container-kapot", "paspoort-id"
#: The trickle: CHUNK questions every PACE seconds, some 100 s of questions: longer than the steps take together.
QUESTIONS, CHUNK, PACE = 6_000, 25, 0.4
#: Small batches keep the processes busy with sends and commits, where a hand-over hurts most.
BATCHES = {"LOKET_ROUTER_BATCH_SIZE": "50", "LOKET_CASE_BATCH_SIZE": "50"}
PORTS = {Service.ROUTER: "LOKET_ROUTER_PORT", Service.CASES: "LOKET_CASE_PORT"}
JOIN = None
#: Each step: the service, and ``JOIN`` to start one more process of it, or the signal that ends its oldest one.
STEPS = ((Service.ROUTER, JOIN), (Service.CASES, JOIN), (Service.ROUTER, JOIN), (Service.CASES, JOIN),
         (Service.ROUTER, JOIN), (Service.ROUTER, signal.SIGTERM), (Service.CASES, signal.SIGKILL),
         (Service.ROUTER, signal.SIGKILL))
#: A step is done once this much more work was done after its group settled: decisions out, cases stored.
GROWTH = {Service.ROUTER: 150, Service.CASES: 50}
#: A failed run's seed here replays its choices (which party asks what, in which order).
SEED: int | None = None


@dataclass
class Member:
    """A started process, and the address of its HTTP server (health and metrics)."""

    process: subprocess.Popen
    url: str


@dataclass
class Scaling:
    """The deployment being scaled: its topics, its database, its processes and the questions still coming."""

    topics: Topics
    conn: asyncpg.Connection
    start: Callable[[Service], Member]
    asking: asyncio.Task | None = None
    latest: list[QuestionAsked] = field(default_factory=list)  # the chunk of questions sent last
    members: dict[Service, list[Member]] = field(default_factory=lambda: {Service.ROUTER: [], Service.CASES: []})


async def test_routers_and_case_workers_scaled_out_and_in_mid_stream(service, case_settings):
    seed = random.randrange(2**32) if SEED is None else SEED
    print(f"\nseed {seed}")
    try:
        await scale_and_check(service, case_settings, random.Random(seed))
    except BaseException as exc:
        exc.add_note(f"seed {seed} (set SEED to it to replay the run's choices)")
        raise


async def scale_and_check(service, case_settings: CaseSettings, rng: random.Random) -> None:
    questions = [question(f"s-{n}", party=rng.choice(PARTIES), subject_code=rng.choice(SUBJECTS))
                 for n in range(QUESTIONS)]
    everywhere = list(range(PARTITIONS))
    assert {partition_of(p.pseudonym.encode(), everywhere, everywhere) for p in PARTIES} == set(everywhere)
    topics = Topics(case_settings.model_copy(update={"topic_prefix": f"{case_settings.topic_prefix}s12.",
                                                     "topic_partitions": PARTITIONS}))
    await ensure_topics(topics.settings, FIXED_TOPICS)  # removed with the test's own: they share its prefix

    def start(name: Service) -> Member:
        port = free_port()
        process = service(name, **deployment_env(topics.settings), **BATCHES, **{PORTS[name]: str(port)})
        return Member(process, f"http://127.0.0.1:{port}")

    conn = await asyncpg.connect(case_settings.database_url.get_secret_value())
    scaling = Scaling(topics, conn, start)
    scaling.asking = asking = asyncio.create_task(trickle(scaling, questions))
    try:
        for name, how in STEPS:
            await take_step(scaling, name, how)
        await asking
        await check_everything(scaling, questions)
    finally:
        asking.cancel()
        await asyncio.gather(asking, return_exceptions=True)
        await conn.close()


async def trickle(scaling: Scaling, questions: list[QuestionAsked]) -> None:
    """The questions, a chunk every ``PACE`` seconds by the clock: producing's own time does not stretch it."""
    loop = asyncio.get_running_loop()
    begin = loop.time()
    for n, first in enumerate(range(0, len(questions), CHUNK)):
        await asyncio.sleep(max(0.0, begin + n * PACE - loop.time()))  # pacing only, not waiting for a state
        await scaling.topics.ask(questions[first:first + CHUNK])
        scaling.latest = questions[first:first + CHUNK]


async def take_step(scaling: Scaling, name: Service, how: signal.Signals | None) -> None:
    """One more process of the service, or its oldest ended by the signal; done once the group has settled with
    its new membership, a joiner has handled batches, and the work went on after that, all mid-stream."""
    members = scaling.members[name]
    before, began, earlier = len(members), time.monotonic(), scaling.latest
    joiner = None
    if how is JOIN:
        joiner = scaling.start(name)
        members.append(joiner)
    else:
        await leave(name, members.pop(0), how)
    await eventually(lambda: settled(scaling, name, len(members)), timeout=90)
    stable = time.monotonic() - began
    if earlier:  # routed before the hand-over, and now again, as a redelivery brings them
        await scaling.topics.ask(earlier)
    base = await progress(scaling, name)

    async def working() -> bool:
        return (await progress(scaling, name) >= base + GROWTH[name] and (joiner is None or await batches(joiner) > 0)
                and await settled(scaling, name, len(members)))

    await eventually(working, timeout=60)
    assert not scaling.asking.done(), f"{name} {before} → {len(members)}: the questions ended before the step did"
    print(f"{name} {before} → {len(members)} ({'join' if how is JOIN else how.name}): stable after {stable:.1f}s, "
          f"working after {time.monotonic() - began:.1f}s; {await progress(scaling, name)} "
          f"{'decisions out' if name == Service.ROUTER else 'cases stored'}")


async def leave(name: Service, leaving: Member, how: signal.Signals) -> None:
    """SIGTERM: asked to stop, the process finishes its batch in hand and leaves its group. SIGKILL: it dies wherever
    it is, and its group finds out only when its session times out."""
    os.killpg(leaving.process.pid, how)
    code = await asyncio.to_thread(leaving.process.wait, 30)
    assert how != signal.SIGTERM or code == 0, f"a {name} asked to stop exited {code}"


async def settled(scaling: Scaling, name: Service, count: int) -> bool:
    """Whether the service's group is stable with ``count`` members; every process meant to run still runs."""
    for member in (m for ms in scaling.members.values() for m in ms):
        assert member.process.poll() is None, f"a process exited ({member.process.returncode}); see the test's logs"
    return await scaling.topics.group_members(name) == ("Stable", count)


async def progress(scaling: Scaling, name: Service) -> int:
    if name == Service.ROUTER:
        return await scaling.topics.count(DECISIONS)
    return await scaling.conn.fetchval("SELECT count(*) FROM cases")


async def batches(member: Member) -> float:
    """How many batches the process has handled (0 while its HTTP server is not up yet)."""
    try:
        return await metrics_sum(member.url, "loket_batch_duration_seconds_count")
    except httpx.TransportError:
        return 0


def expected_decisions(questions: list[QuestionAsked]) -> dict[str, tuple[str, str | None]]:
    """(outcome, case id) of each question by contact id, as the one-desk rules decide the stream in order: a
    party's first question on the linkable subject opens its case, its later ones join it (no case is resolved
    here); a complaint or callback request is a case of its own; the passport question is answered at once."""
    opened: dict[str, str] = {}  # party -> its case on the linkable subject
    expected: dict[str, tuple[str, str | None]] = {}
    for q in questions:
        party, subject = q.data.party.pseudonym, q.data.subject_code
        if subject == ANSWERED:
            expected[q.data.contact_id] = ("answered", None)
        elif subject == LINKABLE and party in opened:
            expected[q.data.contact_id] = ("linked", opened[party])
        else:
            expected[q.data.contact_id] = ("escalated", case_id_for(q))
            if subject == LINKABLE:
                opened[party] = case_id_for(q)
    return expected


async def check_everything(scaling: Scaling, questions: list[QuestionAsked]) -> None:
    decided = await check_decisions(scaling.topics, questions)
    escalated = {d.question_id: d.case_id for d in decided.values() if d.outcome == "escalated"}
    requests = await check_case_requests(scaling.topics, escalated)
    await all_stored(scaling, len(escalated))
    await check_database(scaling.conn, requests, {d.question_id for d in decided.values()})
    parked = await scaling.topics.count(DEAD_LETTERS)
    assert parked == 0, f"{parked} dead letters: a hand-over or a redelivery is no error, nothing may be parked"


async def check_decisions(topics: Topics, questions: list[QuestionAsked]) -> dict:
    """Every question decided, each copy of its decision the same, as the rules decide the stream in order."""
    expected = expected_decisions(questions)
    records = await topics.read(DECISIONS, until=lambda rs: expected.keys() <= by_contact(rs).keys(), timeout=120)
    copies = defaultdict(set)
    for record in records:  # a redelivered question may be decided twice, but never differently
        copies[RoutingDecided.model_validate_json(record.value).data.contact_id].add(record.value)
    differing = {contact for contact, values in copies.items() if len(values) > 1}
    assert not differing, f"{len(differing)} questions decided differently on redelivery: {sorted(differing)[:5]}"
    decided = by_contact(records)
    got = {contact: (d.outcome, d.case_id) for contact, d in decided.items()}
    wrong = {c: (got.get(c), want) for c, want in expected.items() if got.get(c) != want}
    assert not wrong, f"{len(wrong)} decisions (got, expected) not as one router decides: {list(wrong.items())[:3]}"

    linked_cases = defaultdict(set)  # ask once: one case per party on the linkable subject, across every hand-over
    for d in decided.values():
        if d.subject_code == LINKABLE:
            linked_cases[d.party_pseudonym].add(d.case_id)
    twice = {party: cases for party, cases in linked_cases.items() if len(cases) > 1}
    assert not twice, f"{len(twice)} parties with more than one case on {LINKABLE}: {list(twice.items())[:3]}"
    print(f"{len(records)} decisions for {len(questions)} questions: {len(records) - len(decided)} copies (of the "
          f"questions sent again, or redelivered); {len(linked_cases)} parties with a case on {LINKABLE}")
    return decided


async def check_case_requests(topics: Topics, escalated: dict[str, str]) -> list[OpenCase]:
    """One case request for every escalated question, for its case, however often it was sent; no other."""
    records = await topics.read(CASE_REQUESTS, until=lambda rs: escalated.keys() <= {
        OpenCase.model_validate_json(r.value).data.question_id for r in rs})
    copies = defaultdict(set)
    for record in records:
        copies[OpenCase.model_validate_json(record.value).data.question_id].add(record.value)
    assert copies.keys() == escalated.keys(), f"{len(copies.keys() - escalated.keys())} requests for no escalation"
    assert all(len(values) == 1 for values in copies.values()), "a question's case requests differ"
    requests = [OpenCase.model_validate_json(next(iter(values))) for values in copies.values()]
    assert {r.data.question_id: r.data.case_id for r in requests} == escalated
    print(f"{len(records)} case requests for {len(escalated)} escalations: {len(records) - len(escalated)} copies")
    return requests


async def all_stored(scaling: Scaling, cases: int) -> None:
    """Wait until the case workers have stored a case for every escalation (or more: the checks after say which)
    and committed every case request and decision."""
    seen: dict[str, object] = {}

    async def done() -> bool:
        seen["cases"] = await progress(scaling, Service.CASES)
        seen["requests"] = await scaling.topics.consumed_all(Service.CASES, CASE_REQUESTS)
        seen["decisions"] = await scaling.topics.consumed_all(Service.CASES, DECISIONS)
        return seen["cases"] >= cases and seen["requests"] and seen["decisions"]

    try:
        await eventually(done, timeout=90, interval=0.5)
    except AssertionError as exc:
        exc.add_note(f"at the end: {seen}, {cases} cases expected")
        raise


async def check_database(conn: asyncpg.Connection, requests: list[OpenCase], question_ids: set[str]) -> None:
    """One case row per case request, none other; no party has two on the linkable subject; every decided question
    once in the contact history."""
    rows = await conn.fetch("SELECT case_id, request_id, question_id FROM cases")
    assert len(rows) == len(requests), f"{len(rows)} cases for {len(requests)} case requests"
    assert {tuple(r) for r in rows} == {(r.data.case_id, r.id, r.data.question_id) for r in requests}
    doubled = await conn.fetch("SELECT party_pseudonym FROM cases WHERE subject_code = $1 "
                               "GROUP BY party_pseudonym HAVING count(*) > 1", LINKABLE)
    assert not doubled, f"{len(doubled)} parties with two cases on {LINKABLE}"
    contacts = await conn.fetch("SELECT question_id FROM contacts")
    assert len(contacts) == len(question_ids) and {r["question_id"] for r in contacts} == question_ids
