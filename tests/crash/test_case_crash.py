"""The case service killed with SIGKILL three times while it works through 20,000 case requests: every request
one case, none lost, and on the case events topic, taken once per event id, exactly one CaseOpened per case."""

import asyncio
import json
import os
import random
import signal
import subprocess

import asyncpg
import pytest

from plumbing.organisation import load_organisation
from schemas import CaseOpened, OpenCase
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, DEAD_LETTERS, Service
from tests.builders import open_case
from tests.realstack import Topics, eventually

pytestmark = pytest.mark.integration
REQUESTS = 20_000
REDELIVERED = 1_000  # requests sent a second time, the copy anywhere in the stream
#: When the service is killed: the share of the cases stored, and the most seconds it may go on after that. At
#: once is mostly between a batch's transaction and its commit (stored, yet delivered again); later, anywhere.
KILLS = ((0.20, 0.0), (0.45, 0.1), (0.70, 0.0))
#: Small batches keep the service busy with transactions and commits, where a crash hurts most.
BATCH = {"LOKET_CASE_BATCH_SIZE": "100"}
#: A failed run's seed here replays its choices (subjects, which requests come twice, when within a batch it dies).
SEED: int | None = None
SUBJECTS = [s for s in load_organisation().subjects if s.case_type]


async def test_case_service_killed_three_times_opens_every_case_once_and_loses_none(service, topics, case_settings):
    seed = random.randrange(2**32) if SEED is None else SEED
    print(f"\nseed {seed}")
    try:
        await kill_three_times_and_check(service, topics, case_settings.database_url.get_secret_value(),
                                         random.Random(seed))
    except BaseException as exc:
        exc.add_note(f"seed {seed} (set SEED to it to replay the run's choices)")
        raise


async def kill_three_times_and_check(service, topics: Topics, database_url: str, rng: random.Random) -> None:
    requests = [request(n, rng) for n in range(REQUESTS)]
    stream = requests + rng.sample(requests, REDELIVERED)
    rng.shuffle(stream)
    await topics.produce_many(CASE_REQUESTS, [(r.data.case_id.encode(), r.to_bytes()) for r in stream])

    where = await request_ids_by_position(topics, len(stream))
    conn = await asyncpg.connect(database_url)
    try:
        cases = service("cases", **BATCH)
        for share, later in KILLS:
            await kill_when_stored(conn, cases, int(share * REQUESTS), rng.uniform(0, later))
            stored_ids = {r["request_id"] for r in await conn.fetch("SELECT request_id FROM cases")}
            done = await topics.committed(Service.CASES, CASE_REQUESTS)
            committed_ids = {rid for (partition, offset), rid in where.items() if offset < done.get(partition, 0)}
            assert committed_ids <= stored_ids, f"{len(committed_ids - stored_ids)} requests committed, not stored"
            assert len(stored_ids) < REQUESTS  # mid-stream
            print(f"killed at {len(stored_ids)} cases stored, {len(committed_ids)} requests committed; "
                  f"{len(stored_ids - committed_ids)} stored but to be delivered again")
            cases = service("cases", **BATCH)
        await all_done(conn, topics, cases)
        rows = await conn.fetch("SELECT case_id, request_id FROM cases")
    finally:
        await conn.close()

    assert len(rows) == REQUESTS, f"{len(rows)} cases for {REQUESTS} requests"
    assert {(r["case_id"], r["request_id"]) for r in rows} == {(r.data.case_id, r.id) for r in requests}
    parked = await topics.count(DEAD_LETTERS)
    assert parked == 0, f"{parked} dead letters: a request delivered again is no error, none may be parked"
    await assert_every_case_announced_once_after_deduplication(topics, requests)


def request(n: int, rng: random.Random) -> OpenCase:
    subject = rng.choice(SUBJECTS)
    return open_case(f"z-{n}", subject_code=subject.code, case_type=subject.case_type, department=subject.department)


async def kill_when_stored(conn: asyncpg.Connection, cases: subprocess.Popen, count: int, later: float) -> None:
    """Kill the case service ``later`` seconds after ``count`` cases are stored."""

    async def stored_enough() -> bool:
        alive(cases)
        return await stored(conn) >= count

    await eventually(stored_enough, timeout=90, interval=0.001)  # a batch's commit follows its rows in ms
    await asyncio.sleep(later)
    os.killpg(cases.pid, signal.SIGKILL)  # no goodbye, no commit, no outbox row marked
    cases.wait()


async def request_ids_by_position(topics: Topics, sent: int) -> dict[tuple[int, int], str]:
    """The request id at each (partition, offset) of the case requests topic."""
    records = await topics.read(CASE_REQUESTS, until=lambda rs: len(rs) >= sent)
    return {(r.partition, r.offset): json.loads(r.value)["id"] for r in records}


async def all_done(conn: asyncpg.Connection, topics: Topics, cases: subprocess.Popen) -> None:
    """Wait until a case is stored for every request (or more: the assertions after say which), the group has
    committed every request and the outbox has published everything."""
    seen: dict[str, object] = {}

    async def done() -> bool:
        alive(cases)
        seen["cases"] = await stored(conn)
        seen["unpublished"] = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        seen["consumed_all"] = await topics.consumed_all(Service.CASES, CASE_REQUESTS)
        return seen["cases"] >= REQUESTS and seen["unpublished"] == 0 and seen["consumed_all"]

    try:
        await eventually(done, timeout=120, interval=0.5)
    except AssertionError as exc:
        exc.add_note(f"at the end: {seen}")
        raise


async def assert_every_case_announced_once_after_deduplication(topics: Topics, requests: list[OpenCase]) -> None:
    published = await topics.count(CASE_EVENTS)  # all of it: the outbox has nothing left to publish
    records = await topics.read(CASE_EVENTS, until=lambda rs: len(rs) >= published, timeout=60)
    events = [(json.loads(record.value), record.value) for record in records]
    opened = [(event["id"], value) for event, value in events if event["type"] == CaseOpened.event_type()]
    by_id: dict[str, set[bytes]] = {}
    for event_id, value in opened:
        by_id.setdefault(event_id, set()).add(value)
    print(f"case events: {len(opened)} CaseOpened, {len(by_id)} distinct ids; {len(opened) - len(by_id)} duplicates "
          f"(the relay publishes again what it had not marked when it was killed); {len(events) - len(opened)} "
          "other events")

    expected = {f"{r.data.case_id}:opened" for r in requests}
    assert by_id.keys() == expected, (f"{len(expected - by_id.keys())} CaseOpened missing, "
                                      f"{len(by_id.keys() - expected)} unexpected")
    differing = [event_id for event_id, values in by_id.items() if len(values) > 1]
    assert not differing, f"copies of an event that differ: {differing[:5]}"  # a consumer may keep either
    announced = [CaseOpened.model_validate_json(next(iter(values))).data for values in by_id.values()]
    assert {(e.case_id, e.request_id) for e in announced} == {(r.data.case_id, r.id) for r in requests}


def alive(cases: subprocess.Popen) -> None:
    assert cases.poll() is None, f"the case service exited ({cases.returncode}); its log is in the test's folder"


async def stored(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT count(*) FROM cases")
