"""Case service on the real PostgreSQL and broker: idempotent inserts, offsets after rows, outbox relay."""

import asyncio

import asyncpg
import pytest

from schemas import CaseOpened, DeadLetter
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, DEAD_LETTERS
from services.case.app import serve
from services.case.domain import open_case as new_case
from services.case.exceptions import DuplicateCase
from services.case.store import PgCaseStore
from tests.builders import NOW, SOURCE, open_case
from tests.fakes import FakeCaseStore
from tests.realstack import eventually

pytestmark = pytest.mark.integration


class CaseStoreContract:
    """What every case store must do; run against the fake and against PostgreSQL."""

    async def test_added_case_can_be_read_back(self, store):
        await store.add(new_case(open_case("z-1"), source=SOURCE, now=NOW))
        stored = await store.get("z-1")
        assert (stored.status, stored.department, stored.request_id) == ("registered", "openbare-ruimte",
                                                                         "z-1:open-case")

    async def test_same_request_twice_is_a_duplicate(self, store):
        await store.add(new_case(open_case("z-1"), source=SOURCE, now=NOW))
        with pytest.raises(DuplicateCase):
            await store.add(new_case(open_case("z-1"), source=SOURCE, now=NOW))

    async def test_same_request_id_for_another_case_is_a_duplicate(self, store):
        await store.add(new_case(open_case("z-1", request_id="r-1"), source=SOURCE, now=NOW))
        with pytest.raises(DuplicateCase):
            await store.add(new_case(open_case("z-2", request_id="r-1"), source=SOURCE, now=NOW))

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
    letters = await topics.read(DEAD_LETTERS, until=lambda rs: len(rs) >= 1)
    letter = DeadLetter.model_validate_json(letters[0].value)
    assert letter.data.original_value() == b'{"half": "a case"'
    assert letter.data.consumer == "cases" and "JSON" in letter.data.reason


async def test_offsets_are_committed_only_after_the_rows(case_settings, topics, running_cases):
    from aiokafka.admin import AIOKafkaAdminClient

    from plumbing.kafka import group_id

    request = open_case("z-9")
    await topics.produce(CASE_REQUESTS, request.to_bytes(), key=b"z-9")
    conn = await asyncpg.connect(case_settings.database_url.get_secret_value())
    try:
        await eventually(lambda: _count_is(conn, "SELECT count(*) FROM cases WHERE case_id = 'z-9'", 1))
    finally:
        await conn.close()

    async def committed_total() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=case_settings.kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group_id(case_settings, "cases"))
            return sum(o.offset for tp, o in offsets.items() if tp.topic == topics.name(CASE_REQUESTS))
        finally:
            await admin.close()

    await eventually(lambda: _is(committed_total(), 1))


async def _count_is(conn, sql: str, expected: int) -> bool:
    return await conn.fetchval(sql) == expected


async def _is(value_coro, expected) -> bool:
    return (await value_coro) == expected
