"""Entry point of ``loket cases``: wiring only.

Case requests and routing decisions are consumed on the project's batch processor (``plumbing.processor``):
a batch's cases (or contacts) are stored in one transaction, and its offsets committed only after that. Beside
it run the outbox relay, the deadline watcher, the gauges' reader and, on the service's HTTP port with health
and metrics, the back-office API. While PostgreSQL or the broker is away the service keeps trying, with capped
and jittered backoff, and says so on ``/health/ready``; it never exits because a dependency is away.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer

from plumbing.calendar import TermCalendar, dutch_day
from plumbing.health import beside_health, broker_unreachable, database_unreachable
from plumbing.kafka import (CLIENT_STOP_TIMEOUT, ensure_topics, group_consumer, start_consumer, start_producer,
                            stop_client, topic_name)
from plumbing.lifecycle import run_until_signalled
from plumbing.logging import configure_logging
from plumbing.migrate import migrate
from plumbing.organisation import load_organisation
from plumbing.outage import Outage
from plumbing.processor import BatchProcessor, Route
from plumbing.retry import database_away, keep_doing, until_it_works
from schemas.envelope import source_urn
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, DEAD_LETTERS, DECISIONS
from services.case import metrics
from services.case.api import create_app
from services.case.domain import work_queue
from services.case.kafka import SERVICE, CaseRequests, Decisions, OutboxPublisher
from services.case.settings import CaseSettings
from services.case.metrics import Departments
from services.case.store import PgCaseStore, PgOutbox
from services.case.watcher import DeadlineWatcher

log = structlog.get_logger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Connections at most: the batches, the relay, the watcher, the gauges and the back-office API share them.
POOL_SIZE = 8
#: Seconds between two readings of the case gauges from PostgreSQL.
METRICS_INTERVAL = 15.0
#: Seconds the pool may take to close its connections before they are cut.
POOL_CLOSE_TIMEOUT = 3.0


async def migrate_database(settings: CaseSettings) -> list[str]:
    """Apply the case service's pending migrations (``loket db migrate`` and start-up both use this)."""
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        return await migrate(conn, MIGRATIONS)
    finally:
        await conn.close()


class Readiness:
    """What ``/health/ready`` says: why the service cannot store cases now, or nothing when it can."""

    def __init__(self, database_url: str) -> None:
        self.database, self.broker = Outage("database"), Outage("broker")  # as start-up finds them
        self.producer: Callable[[], AIOKafkaProducer] | None = None  # once started: the producer in use
        self.pool: asyncpg.Pool | None = None  # once migrated: the back-office API may use it
        self._database_url = database_url

    async def reason(self) -> str | None:
        if self.producer is None:
            away = [f"{o.dependency} unreachable" for o in (self.database, self.broker) if o.away]
            return ", ".join(away) or "starting"
        reasons = []
        if await database_unreachable(self._database_url):
            reasons.append("database unreachable")
        if await broker_unreachable(self.producer().client):
            reasons.append("broker unreachable")
        return ", ".join(reasons) or None


async def serve(settings: CaseSettings, stopping: asyncio.Event) -> None:
    """Store case requests and relay the outbox until ``stopping`` is set; health is served meanwhile."""
    readiness = Readiness(settings.database_url.get_secret_value())
    try:
        app = create_app(settings, lambda: readiness.pool, readiness.reason)
        await beside_health(_work(settings, stopping, readiness), app, settings.case_host, settings.case_port, stopping)
    finally:
        log.info("cases_stopped")


async def _work(settings: CaseSettings, stopping: asyncio.Event, readiness: Readiness) -> None:
    await until_it_works(lambda: migrate_database(settings), outage=readiness.database, stopping=stopping,
                         retry_on=database_away)
    # No connection is made before one is needed, and a connection lost is replaced when next acquired. The
    # back-office API works from here on, the broker there or not: what it changes waits in the outbox.
    pool = await asyncpg.create_pool(settings.database_url.get_secret_value(), min_size=0, max_size=POOL_SIZE)
    readiness.pool = pool
    try:
        await _consume(settings, stopping, readiness, pool)
    finally:
        readiness.pool = None
        await _close_pool(pool)


async def _consume(settings: CaseSettings, stopping: asyncio.Event, readiness: Readiness, pool: asyncpg.Pool) -> None:
    organisation = load_organisation(settings.organisation_file)
    queues = [work_queue(department.code) for department in organisation.departments]
    await ensure_topics(settings, [CASE_REQUESTS, DECISIONS, CASE_EVENTS, DEAD_LETTERS, *queues], stopping=stopping,
                        outage=readiness.broker)
    source = source_urn(settings.oin, "loket-cases")
    store = PgCaseStore(pool)

    def producer() -> Awaitable[AIOKafkaProducer]:  # also a new one, for one whose idempotence state broke
        return start_producer(settings, stopping=stopping, outage=readiness.broker, linger_ms=0)

    async with contextlib.AsyncExitStack() as stack:
        publisher = OutboxPublisher(await producer(), settings, stopping=stopping, renew=producer)
        stack.push_async_callback(lambda: stop_client(publisher.producer, CLIENT_STOP_TIMEOUT))  # a renewed one too
        requests = CaseRequests(store, settings, source, stopping, calendar=TermCalendar.of(organisation),
                                levels=settings.deadline_levels)
        routes = {topic_name(settings, CASE_REQUESTS): Route(batch=requests),
                  topic_name(settings, DECISIONS): Route(batch=Decisions(store, settings, source, stopping))}
        processor = BatchProcessor(
            group_consumer(settings, SERVICE), await producer(), routes, dead_letters=topic_name(settings, DEAD_LETTERS),
            source=source, name=SERVICE, batch_size=settings.case_batch_size, renew_producer=producer)
        stack.push_async_callback(lambda: stop_client(processor.producer, CLIENT_STOP_TIMEOUT))
        consumer = processor.consumer
        consumer.subscribe(processor.topics, listener=processor)
        stack.push_async_callback(lambda: stop_client(consumer, CLIENT_STOP_TIMEOUT))
        await start_consumer(consumer, settings, stopping=stopping, outage=readiness.broker)
        readiness.producer = lambda: processor.producer
        log.info("cases_started")
        outbox, departments = PgOutbox(pool), Departments(d.code for d in organisation.departments)
        watcher = DeadlineWatcher(pool, source=source, levels=settings.deadline_levels, departments=departments)

        async def relayed() -> bool:  # more waiting, perhaps
            return await outbox.relay(publisher) > 0

        async def announced() -> bool:
            return await watcher.announce_due() == watcher.batch

        async def measured() -> bool:
            await metrics.refresh(pool, departments, dutch_day())
            return False

        def keep(work: Callable[[], Awaitable[bool]], interval: float) -> Awaitable[None]:
            # Each loop tells of its own database outage: the relay's, the watcher's and the gauges' apart.
            return keep_doing(work, interval=interval, stopping=stopping, outage=Outage("database"),
                              retry_on=database_away)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(processor.run(stopping))
            # What was not marked published when the relay stops is published again after the restart.
            tasks.create_task(keep(relayed, settings.outbox_interval_seconds))
            tasks.create_task(keep(announced, settings.deadline_interval_seconds))
            tasks.create_task(keep(measured, METRICS_INTERVAL))


async def _close_pool(pool: asyncpg.Pool) -> None:
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_TIMEOUT)
    except TimeoutError:
        pool.terminate()  # connections to a server that does not answer: cut them


def main() -> None:
    settings = CaseSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_until_signalled(serve, settings)
