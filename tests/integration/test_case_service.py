"""Case service on the real PostgreSQL and broker: idempotent inserts, offsets after rows, outbox relay."""

import asyncio

import asyncpg
import pytest

from schemas import CaseOpened, DeadLetter
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, DEAD_LETTERS
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from plumbing.kafka import group_id, start_producer, topic_name
from services.case.app import serve
from services.case.kafka import CaseRequestConsumer
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


class DatabaseDown:
    """A store whose database is unreachable: ``add`` fails as asyncpg does when the server is gone."""

    async def add(self, case):
        raise ConnectionRefusedError("database unreachable")


async def _committed(settings, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group_id(settings, "cases"))
        return sum(o.offset for tp, o in offsets.items() if tp.topic == topic)
    finally:
        await admin.close()


async def _consume_until_stopped(settings, store, stopping: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(topics_name(settings), bootstrap_servers=settings.kafka_bootstrap,
                                group_id=group_id(settings, "cases"), enable_auto_commit=False,
                                auto_offset_reset="earliest")
    producer = await start_producer(settings)
    await consumer.start()
    try:
        await CaseRequestConsumer(consumer, producer, store, settings, SOURCE, 100).run(stopping)
    finally:
        await consumer.stop()
        await producer.stop()


def topics_name(settings) -> str:
    return topic_name(settings, CASE_REQUESTS)


async def test_offsets_are_committed_only_after_the_rows(case_settings, topics):
    request = open_case("z-9")
    await topics.produce(CASE_REQUESTS, request.to_bytes(), key=b"z-9")

    with pytest.raises(ConnectionRefusedError):  # the database is down: the consumer stops, commits nothing
        await asyncio.wait_for(_consume_until_stopped(case_settings, DatabaseDown(), asyncio.Event()), 60)
    assert await _committed(case_settings, topics.name(CASE_REQUESTS)) == 0

    pool = await asyncpg.create_pool(case_settings.database_url.get_secret_value(), min_size=1, max_size=2)
    stopping = asyncio.Event()
    task = asyncio.create_task(_consume_until_stopped(case_settings, PgCaseStore(pool), stopping))
    try:
        await eventually(lambda: _is(_committed(case_settings, topics.name(CASE_REQUESTS)), 1))
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM cases WHERE case_id = 'z-9'") == 1
    finally:
        stopping.set()
        await asyncio.wait_for(task, 30)
        await pool.close()


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


async def _count_is(conn, sql: str, expected: int) -> bool:
    return await conn.fetchval(sql) == expected


async def _is(value_coro, expected) -> bool:
    return (await value_coro) == expected
