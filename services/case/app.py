"""Entry point of ``loket cases``: wiring only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer

from plumbing.kafka import ensure_topics, group_id, start_producer, topic_name
from plumbing.lifecycle import run_until_signalled
from plumbing.logging import configure_logging
from plumbing.migrate import migrate
from schemas.envelope import source_urn
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, DEAD_LETTERS
from services.case.kafka import SERVICE, CaseRequestConsumer, OutboxPublisher
from services.case.settings import CaseSettings
from services.case.store import PgCaseStore, PgOutbox

log = structlog.get_logger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


async def migrate_database(settings: CaseSettings) -> list[str]:
    """Apply the case service's pending migrations (``loket db migrate`` and start-up both use this)."""
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        return await migrate(conn, MIGRATIONS)
    finally:
        await conn.close()


async def serve(settings: CaseSettings, stopping: asyncio.Event) -> None:
    """Consume case requests and relay the outbox until ``stopping`` is set."""
    await migrate_database(settings)
    await ensure_topics(settings, [CASE_REQUESTS, CASE_EVENTS, DEAD_LETTERS])
    pool = await asyncpg.create_pool(settings.database_url.get_secret_value(), min_size=1, max_size=4)
    producer = await start_producer(settings)
    consumer = AIOKafkaConsumer(
        topic_name(settings, CASE_REQUESTS),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id(settings, SERVICE),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    source = source_urn(settings.oin, "loket-cases")
    requests = CaseRequestConsumer(consumer, producer, PgCaseStore(pool), settings, source, settings.case_batch_size)
    log.info("cases_started")
    try:
        await asyncio.gather(requests.run(stopping), relay_outbox(PgOutbox(pool), OutboxPublisher(producer, settings),
                                                                   settings.outbox_interval_seconds, stopping))
    finally:
        await consumer.stop()
        await producer.stop()
        await pool.close()
        log.info("cases_stopped")


async def relay_outbox(outbox: PgOutbox, publish: OutboxPublisher, interval: float, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        if not await outbox.relay(publish):
            try:
                await asyncio.wait_for(stopping.wait(), timeout=interval)
            except TimeoutError:
                pass


def main() -> None:
    settings = CaseSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_until_signalled(serve, settings)

