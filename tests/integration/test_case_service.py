"""Case service on the real PostgreSQL and broker: idempotent batch inserts, refused data parked, outbox relay."""

import asyncio
import json

import asyncpg
import pytest

from schemas import CaseOpened, DeadLetter
from schemas.cases import WorkItem
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, DEAD_LETTERS, DECISIONS
from services.case.app import serve
from services.case.domain import open_case as new_case, work_queue
from services.case.store import PgCaseStore
from tests.builders import NOW, SOURCE, decision, open_case
from tests.fakes import FakeCaseStore
from tests.realstack import eventually

pytestmark = pytest.mark.integration


UNSTORABLE = "reparatie\u0000container"  # valid JSON and a valid request; PostgreSQL refuses the NUL


def _new(case_id: str, **fields):
    return new_case(open_case(case_id, **fields), source=SOURCE, now=NOW)


class CaseStoreContract:
    """What every case store must do; run against the fake and against PostgreSQL. Each store's test class
    tells how to see its outbox and history (``announced``, ``history``)."""

    async def test_added_case_can_be_read_back(self, store):
        assert (await store.add_all([_new("z-1")])).opened == ["z-1"]
        stored = await store.get("z-1")
        assert (stored.status, stored.department, stored.request_id) == ("registered", "openbare-ruimte",
                                                                         "z-1:open-case")

    async def test_a_new_case_comes_with_its_history_and_its_announcements(self, store):
        await store.add_all([_new("z-1")])
        assert await self.history(store, "z-1") == [("registered", "opened", "loket-cases")]
        assert await self.announced(store, "z-1") == [
            ("loket.case-events.v1", "nl.loket.cases.case-opened"),
            ("loket.backoffice.openbare-ruimte.v1", "nl.loket.cases.work-item")]

    async def test_same_request_twice_is_stored_once(self, store):
        await store.add_all([_new("z-1")])
        again = await store.add_all([_new("z-1"), _new("z-2")])
        assert again.opened == ["z-2"] and again.refused == {}
        assert len(await self.announced(store, "z-1")) == 2 and len(await self.history(store, "z-1")) == 1

    async def test_same_request_id_for_another_case_is_stored_once(self, store):
        stored = await store.add_all([_new("z-1", request_id="r-1"), _new("z-2", request_id="r-1")])
        assert stored.opened == ["z-1"] and await store.get("z-2") is None

    async def test_unstorable_data_is_refused_alone_and_leaves_no_trace(self, store):
        stored = await store.add_all([_new("z-1"), _new("z-2", case_type=UNSTORABLE), _new("z-3")])
        assert stored.opened == ["z-1", "z-3"] and list(stored.refused) == ["z-2:open-case"]
        assert await store.get("z-2") is None
        assert await self.announced(store, "z-2") == [] and await self.history(store, "z-2") == []
        # The batch tried whole first: what it had written for the others is not there twice.
        assert len(await self.announced(store, "z-1")) == 2 and len(await self.history(store, "z-3")) == 1

    async def test_unknown_case_is_none(self, store):
        assert await store.get("nope") is None


class TestFakeCaseStore(CaseStoreContract):
    @pytest.fixture
    def store(self):
        return FakeCaseStore(refuses=frozenset({UNSTORABLE}))

    async def announced(self, store, case_id):
        return [(topic, json.loads(payload)["type"]) for topic, key, payload in store.outbox if key == case_id]

    async def history(self, store, case_id):
        return [entry[1:] for entry in store.history if entry[0] == case_id]


class TestPgCaseStore(CaseStoreContract):
    @pytest.fixture
    async def store(self, case_settings):
        pool = await asyncpg.create_pool(case_settings.database_url.get_secret_value(), min_size=1, max_size=2)
        store = PgCaseStore(pool)
        store.pool = pool
        yield store
        await pool.close()

    async def announced(self, store, case_id):
        rows = await store.pool.fetch("SELECT topic, event_type FROM outbox WHERE message_key = $1 ORDER BY id", case_id)
        return [tuple(r) for r in rows]

    async def history(self, store, case_id):
        rows = await store.pool.fetch("SELECT status, action, changed_by FROM case_status_history WHERE case_id = $1"
                                      " ORDER BY id", case_id)
        return [tuple(r) for r in rows]

    async def test_a_request_stored_meanwhile_by_another_transaction_counts_as_stored_before(self, store):
        # Two consumers of one partition for a moment (a rebalance's steps): the other stores the request
        # between this store's look at what is stored and its COPY, which then waits for the other's commit.
        other = await store.pool.acquire()
        try:
            async with other.transaction():
                await other.execute("INSERT INTO inbox (consumer, event_id) VALUES ('case-requests', 'z-1:open-case')")
                adding = asyncio.create_task(store.add_all([_new("z-1"), _new("z-2")]))
                await eventually(lambda: _copy_waits_for_a_lock(other), timeout=10, interval=0.02)
        finally:
            await store.pool.release(other)
        stored = await adding
        assert stored.opened == ["z-2"] and stored.refused == {}
        assert await store.get("z-1") is None and len(await self.history(store, "z-2")) == 1


async def _copy_waits_for_a_lock(conn: asyncpg.Connection) -> bool:
    await conn.execute("SELECT pg_stat_clear_snapshot()")  # in a transaction, the view would stay as first read
    return bool(await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'COPY%'"))


@pytest.fixture
async def running_cases(case_settings):
    stopping = asyncio.Event()
    task = asyncio.create_task(serve(case_settings, stopping))
    yield task
    stopping.set()
    await asyncio.wait_for(task, timeout=30)


async def test_requests_become_rows_once_and_are_announced(case_settings, topics, running_cases):
    for request in (open_case("z-1"), open_case("z-2"), open_case("z-1")):  # z-1 redelivered
        await topics.produce(CASE_REQUESTS, request.to_bytes(), key=request.data.case_id.encode())
    await topics.produce(CASE_REQUESTS, b'{"half": "a case"', key=b"z-3")  # poison
    await topics.produce(CASE_REQUESTS, open_case("z-4").to_bytes(), key=b"z-4")

    conn = await asyncpg.connect(case_settings.database_url.get_secret_value())
    try:
        await eventually(lambda: _count_is(conn, "SELECT count(*) FROM cases", 3))
        assert await conn.fetchval("SELECT count(*) FROM cases") == 3
        ids = [r["case_id"] for r in await conn.fetch("SELECT case_id FROM cases ORDER BY case_id")]
        assert ids == ["z-1", "z-2", "z-4"]
        history = await conn.fetchval("SELECT count(*) FROM case_status_history WHERE status = 'registered'")
        assert history == 3
    finally:
        await conn.close()

    opened = await topics.read(CASE_EVENTS, until=lambda rs: len(rs) >= 3)
    assert sorted(CaseOpened.model_validate_json(r.value).data.case_id for r in opened) == ["z-1", "z-2", "z-4"]
    queued = await topics.read(work_queue("openbare-ruimte"), until=lambda rs: len(rs) >= 3)
    assert sorted(WorkItem.model_validate_json(r.value).data.case_id for r in queued) == ["z-1", "z-2", "z-4"]
    letters = await topics.read(DEAD_LETTERS, until=lambda rs: len(rs) >= 1)
    letter = DeadLetter.model_validate_json(letters[0].value)
    assert letter.data.original_value() == b'{"half": "a case"'
    assert letter.data.consumer == "cases" and "JSON" in letter.data.reason


async def test_data_postgresql_refuses_is_parked_and_the_next_request_is_stored(case_settings, topics, running_cases):
    unstorable = open_case("z-10", case_type=UNSTORABLE)
    await topics.produce(CASE_REQUESTS, unstorable.to_bytes(), key=b"z-10")
    await topics.produce(CASE_REQUESTS, open_case("z-11").to_bytes(), key=b"z-11")
    letters = await topics.read(DEAD_LETTERS, until=lambda rs: len(rs) >= 1)
    letter = DeadLetter.model_validate_json(letters[0].value).data
    assert letter.consumer == "cases" and letter.reason.startswith("PostgreSQL refused the case")
    conn = await asyncpg.connect(case_settings.database_url.get_secret_value())
    try:
        await eventually(lambda: _count_is(conn, "SELECT count(*) FROM cases WHERE case_id = 'z-11'", 1))
    finally:
        await conn.close()


async def test_every_decided_contact_enters_its_partys_contact_history_once(case_settings, topics, running_cases):
    party = "b" * 64
    decisions = [decision("q-1", party_pseudonym=party),
                 decision("q-2", party_pseudonym=party, outcome="escalated", rule="escalation", case_id="z-9",
                          department="openbare-ruimte"),
                 decision("q-1", party_pseudonym=party)]  # redelivered
    for event in decisions:
        await topics.produce(DECISIONS, event.to_bytes(), key=party.encode())
    conn = await asyncpg.connect(case_settings.database_url.get_secret_value())
    try:
        await eventually(lambda: _count_is(conn, "SELECT count(*) FROM contacts", 2))
        await eventually(lambda: topics.consumed_all("cases", DECISIONS))
        rows = await conn.fetch("SELECT question_id, outcome, case_id FROM contacts WHERE party_pseudonym = $1"
                                " ORDER BY decided_at, question_id", party)
        assert [tuple(r) for r in rows] == [("q-1", "answered", None), ("q-2", "escalated", "z-9")]
    finally:
        await conn.close()


async def _count_is(conn, sql: str, expected: int) -> bool:
    return await conn.fetchval(sql) == expected


