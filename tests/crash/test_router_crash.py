"""A router killed with SIGKILL mid-stream and restarted: no decision lost, no case requested twice.

Kept out of the default test run for now: it fails about one run in two because faust-streaming's
table recovery can leave a gap in the acked offsets of a partition (faust-streaming issue #596,
open): the restarted router then stops committing that partition and leaves part of it undecided.
Run it with `./dev test tests/crash`. The router's issue stays open until this passes every time.
"""

import os
import signal
from collections import defaultdict

import pytest

from schemas import OpenCase, PartyRef, RoutingDecided
from schemas.topics import CASE_REQUESTS, DECISIONS
from tests.integration.test_router_rules import ask, by_contact, question

pytestmark = pytest.mark.integration


async def test_killed_router_loses_no_decision_and_requests_no_case_twice(service, topics):
    parties = [PartyRef(pseudonym=f"{n:064x}", identified_by="bsn") for n in range(50)]
    subjects = ["container-kapot", "klacht", "paspoort-id", "terugbelverzoek"]
    questions = [question(f"k-{n}", party=parties[n % 50], subject_code=subjects[n % 4]) for n in range(2000)]
    router = service("router", LOKET_ROUTER_BATCH_SIZE="50")
    await ask(topics, *questions[:1000])

    await topics.read(DECISIONS, until=lambda rs: len(rs) >= 200, timeout=90)  # mid-stream…
    os.killpg(router.pid, signal.SIGKILL)  # …no goodbye, no commit, no flush
    router.wait()
    service("router", LOKET_ROUTER_BATCH_SIZE="50")
    await ask(topics, *questions[1000:])

    wanted = {q.data.contact_id for q in questions}
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
    assert all(len(cases) == 1 for cases in per_party_subject.values())  # ask once, across the crash
