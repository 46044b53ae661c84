"""Case service on the real PostgreSQL and broker: idempotent batch inserts, refused data parked, outbox relay."""

import asyncio

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


class CaseStoreContract:
    """What every case store must do; run against the fake and against PostgreSQL."""

    async def test_added_case_can_be_read_back(self, store):
        assert (await store.add_all([new_case(open_case("z-1"), source=SOURCE, now=NOW)])).opened == ["z-1"]
        stored = await store.get("z-1")
        assert (stored.status, stored.department, stored.request_id) == ("registered", "openbare-ruimte",
                                                                         "z-1:open-case")

    async def test_same_request_twice_is_stored_once(self, store):
        await store.add_all([new_case(open_case("z-1"), source=SOURCE, now=NOW)])
        again = await store.add_all([new_case(open_case("z-1"), source=SOURCE, now=NOW),
                                     new_case(open_case("z-2"), source=SOURCE, now=NOW)])
        assert again.opened == ["z-2"] and again.refused == {}

    async def test_same_request_id_for_another_case_is_stored_once(self, store):
        stored = await store.add_all([new_case(open_case("z-1", request_id="r-1"), source=SOURCE, now=NOW),
                                      new_case(open_case("z-2", request_id="r-1"), source=SOURCE, now=NOW)])
        assert stored.opened == ["z-1"] and await store.get("z-2") is None

    async def test_unknown_case_is_none(self, store):
        assert await store.get("nope") is None


class TestFakeCaseStore(CaseStoreContract):
    @pytest.fixture
    def store(self):
        return FakeCaseStore()


class TestPgCaseStore(CaseStoreContract):
    @pytest.fixture
    async def store(self, case_settings):
        pool = await asyncpg.create_pool(case_settings.database_url.get_secret_value(), min_size=1, max_size=2)
        yield PgCaseStore(pool)
        await pool.close()


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
    unstorable = open_case("z-10", case_type="reparatie\u0000container")  # valid JSON; PostgreSQL says no
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


