"""The case service while PostgreSQL is away: it stays up, says why it is not ready, and afterwards every
request is one case. On a stack of the test's own, whose PostgreSQL the test stops and starts."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from loket import stack
from plumbing.kafka import ensure_topics
from schemas import CaseOpened
from schemas.topics import ALL_TOPICS, CASE_EVENTS, CASE_REQUESTS
from services.case.settings import CaseSettings
from tests.builders import open_case
from tests.realstack import Topics, eventually, free_port

pytestmark = pytest.mark.integration
#: Seconds PostgreSQL stays away (the acceptance's figure): longer than a connection attempt's timeout.
OUTAGE = 30
REQUESTS = 2000


async def _stored(settings: CaseSettings) -> tuple[int, int]:
    """Cases stored, and distinct requests among them; (-1, -1) while PostgreSQL does not answer."""
    try:
        conn = await asyncpg.connect(settings.database_url.get_secret_value(), timeout=5)
    except (OSError, asyncpg.PostgresError):
        return -1, -1
    try:
        row = await conn.fetchrow("SELECT count(*) AS cases, count(DISTINCT request_id) AS requests FROM cases")
        return row["cases"], row["requests"]
    finally:
        await conn.close()


async def _ready(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(f"{url}/health/ready")


async def test_the_case_service_rides_out_postgresql_stopped_for_30_seconds(throwaway_stack, service, tmp_path):
    await stack.up(throwaway_stack)
    settings = CaseSettings(kafka_bootstrap=throwaway_stack.kafka_bootstrap, topic_prefix="pg-outage.",
                            topic_partitions=2, database_url=throwaway_stack.database_url)
    topics = Topics(settings)
    await ensure_topics(settings, ALL_TOPICS)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cases = service("cases", LOKET_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, LOKET_TOPIC_PREFIX=settings.topic_prefix,
                    LOKET_DATABASE_URL=settings.database_url.get_secret_value(), LOKET_CASE_PORT=str(port),
                    LOKET_CASE_BATCH_SIZE="50")
    await eventually(lambda: _is_ready(url, cases), timeout=120, interval=0.5)

    requests = [open_case(f"z-{n}") for n in range(REQUESTS)]
    first, rest = requests[: REQUESTS // 2], requests[REQUESTS // 2:]
    await topics.produce_many(CASE_REQUESTS, [(r.data.case_id.encode(), r.to_bytes()) for r in first])
    await eventually(lambda: _some_stored(settings), timeout=60, interval=0.2)

    stack.down(throwaway_stack, only=("postgres",))  # mid-stream: batches in hand
    await topics.produce_many(CASE_REQUESTS, [(r.data.case_id.encode(), r.to_bytes()) for r in rest])
    not_ready = await eventually(lambda: _not_ready(url, cases), timeout=30, interval=0.5)
    assert not_ready.headers["content-type"] == "application/problem+json"
    assert "database unreachable" in not_ready.json()["detail"], not_ready.json()
    assert (await httpx.AsyncClient().get(f"{url}/health/live")).status_code == 200
    await asyncio.sleep(OUTAGE)  # the outage itself is what is under test: it must last
    assert cases.poll() is None, "the case service exited while PostgreSQL was away"

    await stack.up(throwaway_stack)
    await eventually(lambda: _all_stored(settings), timeout=180, interval=1.0)
    assert await _stored(settings) == (REQUESTS, REQUESTS)  # every request one case: none lost, none twice
    await eventually(lambda: _is_ready(url, cases), timeout=60, interval=0.5)
    opened = await topics.read(CASE_EVENTS, until=lambda rs: len({_case_id(r.value) for r in rs}) >= REQUESTS,
                               timeout=120)
    assert {_case_id(r.value) for r in opened} == {r.data.case_id for r in requests}
    assert cases.poll() is None

    told = (tmp_path / "cases.log").read_text()
    about_it = [line for line in told.splitlines() if "dependency_" in line or "asyncpg" in line]
    assert len(about_it) <= 6, "\n".join(about_it[:40])  # a handful about the outage, not one per retry
    assert "Traceback" not in told, told[-4000:]


def _case_id(value: bytes) -> str:
    return CaseOpened.model_validate_json(value).data.case_id


async def _is_ready(url: str, process) -> bool:
    assert process.poll() is None, f"the case service exited ({process.returncode}); its log is in the test's folder"
    try:
        return (await _ready(url)).status_code == 200
    except httpx.TransportError:
        return False


async def _not_ready(url: str, process) -> httpx.Response | None:
    assert process.poll() is None, f"the case service exited ({process.returncode}); its log is in the test's folder"
    try:
        response = await _ready(url)
    except httpx.TransportError:
        return None
    return response if response.status_code == 503 else None


async def _some_stored(settings: CaseSettings) -> bool:
    return (await _stored(settings))[0] > 0


async def _all_stored(settings: CaseSettings) -> bool:
    return (await _stored(settings))[1] >= REQUESTS
