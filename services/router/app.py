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
from plumbing.health import beside_health, broker_ready, health_app
from plumbing.kafka import ensure_topics, group_consumer, start_consumer, start_producer, stop_client, topic_name
from plumbing.lifecycle import run_until_signalled
from plumbing.logging import configure_logging
from plumbing.organisation import Organisation, load_organisation
from plumbing.outage import Outage
from plumbing.processor import BatchProcessor, Route
from schemas.envelope import source_urn
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from services.router.domain import Classifier
from services.router.kafka import SERVICE, InternalTopics, RouterRecords
from services.router.settings import RouterSettings

log = structlog.get_logger(__name__)
#: Share of the stop timeout the Kafka clients have to stop in, together, once routing has ended (which takes
#: at most the retry's stop grace): the whole stays within the timeout.
CLIENT_STOP_SHARE = 0.3


async def serve(settings: RouterSettings, stopping: asyncio.Event) -> None:
    """Route questions, and answer health checks, until ``stopping`` is set."""
    organisation = load_organisation(settings.organisation_file)
    running: list[BatchProcessor] = []  # the processor, once the broker let it start

    ready = broker_ready(lambda: running[0].producer if running else None)
    await beside_health(route(settings, organisation, stopping, running), health_app("Loket router", ready),
                        settings.router_host, settings.router_port, stopping)


async def route(settings: RouterSettings, organisation: Organisation, stopping: asyncio.Event,
                running: list[BatchProcessor]) -> None:
    """Route questions until ``stopping`` is set; while the broker is away, start-up waits for it."""
    internal = InternalTopics.of(settings)
    broker = Outage("broker")  # one for the start-up's steps: an outage across them is told once
    await ensure_topics(settings, [CONTACTS, DECISIONS, CASE_REQUESTS, CASE_EVENTS, DEAD_LETTERS],
                        internal=[internal.party_state, internal.closures], stopping=stopping, outage=broker)
    source = source_urn(settings.oin, "loket-router")
    state = PartitionedState(internal.party_state.name)
    records = RouterRecords(settings, state, internal.closures.name, classifier=Classifier(organisation),
                            calendar=TermCalendar.of(organisation), source=source)
    routes = {
        topic_name(settings, CONTACTS): Route(records.question, stateful=True),
        internal.closures.name: Route(records.closure, stateful=True),
        topic_name(settings, CASE_EVENTS): Route(records.case_event),
    }
    producer = await start_producer(settings, stopping=stopping, outage=broker, linger_ms=0)
    # No silent jump to the end if the changelog's start moved under the reader: fail instead.
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                              auto_offset_reset="none")
    # Range, not round-robin: partition p of the contacts and of the closures go to the same process.
    consumer = group_consumer(settings, SERVICE, partition_assignment_strategy=(RangePartitionAssignor,))
    processor = BatchProcessor(consumer, producer, routes, reader=reader, state=state,
                               dead_letters=topic_name(settings, DEAD_LETTERS), source=source, name=SERVICE,
                               batch_size=settings.router_batch_size, expire=records.expire,
                               renew_producer=lambda: start_producer(settings, stopping=stopping, linger_ms=0))
    consumer.subscribe(processor.topics, listener=processor)
    running.append(processor)
    try:
        await start_consumer(reader, settings, stopping=stopping, outage=broker)
        await start_consumer(consumer, settings, stopping=stopping, outage=broker)
        log.info("router_started", subjects=len(organisation.subjects))
        await processor.run(stopping)
    finally:
        # Each within a bound: a producer's stop flushes, and a consumer's leaves its group, for as long as the
        # broker is away. Nothing is committed here: what was not is delivered again.
        timeout = settings.stop_timeout_seconds * CLIENT_STOP_SHARE
        await asyncio.gather(stop_client(consumer, timeout), stop_client(reader, timeout),
                             stop_client(processor.producer, timeout))  # the one in use: a renewed one, or the first
        log.info("router_stopped")


def main() -> None:
    settings = RouterSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_until_signalled(serve, settings)

