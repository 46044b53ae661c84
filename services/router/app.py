"""Entry point of ``loket router``: wiring only.

The router is a plain aiokafka batch processor (``plumbing.processor``) rather than a faust app:
faust-streaming's table recovery can leave a gap in a partition's acked offsets after a restart
(faust-streaming issue #596, open), after which that partition is never committed or processed
again, and its commit logic can step over a record still in flight (#606, open). Both break
"nothing lost", so the router keeps its party state itself, in the same compacted changelog topic
the faust table used, and commits only what it has published.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.kafka import ensure_topics, group_id, start_producer, topic_name
from plumbing.lifecycle import run_until_signalled
from plumbing.logging import configure_logging
from plumbing.organisation import load_organisation
from plumbing.processor import BatchProcessor, Route
from schemas.envelope import source_urn
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from services.router.domain import Classifier
from services.router.kafka import SERVICE, InternalTopics, RouterRecords
from services.router.settings import RouterSettings

log = structlog.get_logger(__name__)


async def serve(settings: RouterSettings, stopping: asyncio.Event) -> None:
    """Route questions until ``stopping`` is set."""
    organisation = load_organisation(settings.organisation_file)
    internal = InternalTopics.of(settings)
    await ensure_topics(settings, [CONTACTS, DECISIONS, CASE_REQUESTS, CASE_EVENTS, DEAD_LETTERS],
                        internal=[internal.party_state, internal.closures])
    source = source_urn(settings.oin, "loket-router")
    state = PartitionedState(internal.party_state.name)
    records = RouterRecords(settings, state, internal.closures.name, classifier=Classifier(organisation),
                            calendar=TermCalendar.of(organisation), source=source)
    routes = {
        topic_name(settings, CONTACTS): Route(records.question, stateful=True),
        internal.closures.name: Route(records.closure, stateful=True),
        topic_name(settings, CASE_EVENTS): Route(records.case_event),
    }
    producer = await start_producer(settings)
    # No silent jump to the end if the changelog's start moved under the reader: fail instead.
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                              auto_offset_reset="none")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id(settings, SERVICE),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        # Range, not round-robin: partition p of the contacts and of the closures go to the same process.
        partition_assignment_strategy=(RangePartitionAssignor,),
    )
    processor = BatchProcessor(consumer, producer, routes, reader=reader, state=state,
                               dead_letters=topic_name(settings, DEAD_LETTERS), source=source, name=SERVICE,
                               batch_size=settings.router_batch_size,
                               expire=records.expire, renew_producer=lambda: start_producer(settings))
    consumer.subscribe(processor.topics, listener=processor)
    try:
        await reader.start()
        try:
            await consumer.start()
            log.info("router_started", subjects=len(organisation.subjects))
            await processor.run(stopping)
        finally:
            await consumer.stop()
    finally:
        await reader.stop()
        await processor.producer.stop()  # the one in use: a renewed one, or the first
        log.info("router_stopped")


def main() -> None:
    settings = RouterSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_until_signalled(serve, settings)

