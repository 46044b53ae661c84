"""Entry point of ``loket norms``: wiring only.

The norms service is the project's batch processor (``plumbing.processor``) on the decisions, not a faust
agent: under a broker outage faust-streaming 0.15 kept the process alive but flooded its log (its worker
replaces the logging set-up, thousands of aiokafka lines a minute) and did not stop on SIGTERM while the
broker was away; and its open bugs #596 and #606 break "nothing lost", as they did for the router.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import ConsumerRecord

from plumbing.deadletters import decode_event
from plumbing.health import beside_health, broker_ready
from plumbing.kafka import (Record, ensure_topics, group_consumer, start_consumer, start_producer, stop_client,
                            topic_name)
from plumbing.lifecycle import run_until_signalled
from plumbing.logging import configure_logging
from plumbing.processor import BatchProcessor, Handler, Route
from schemas import RoutingDecided
from schemas.envelope import source_urn
from schemas.topics import DEAD_LETTERS, DECISIONS, Service
from services.norms import handlers, metrics
from services.norms.domain import OutcomeTally, RecentIds
from services.norms.http import create_http_app
from services.norms.settings import NormsSettings

log = structlog.get_logger(__name__)
SERVICE = Service.NORMS
#: Share of the stop timeout the Kafka clients have to stop in, together, once measuring has ended (which
#: takes at most the retry's stop grace): the whole stays within the timeout.
CLIENT_STOP_SHARE = 0.3


def decision_handler(tally: OutcomeTally, seen: RecentIds) -> Handler:
    """One decision record in, the tallies updated; nothing out. What it raises the processor dead-letters."""

    def measured(record: ConsumerRecord) -> list[Record]:
        try:
            handlers.record_decision(decode_event(RoutingDecided, record), tally, seen)
        except Exception:
            metrics.RECORDS_REFUSED.inc()  # the processor parks it, with the reason, on the dead-letter topic
            raise
        return []

    return measured


async def serve(settings: NormsSettings, stopping: asyncio.Event) -> None:
    """Measure decisions, and answer metrics and health requests, until ``stopping`` is set."""
    running: list[BatchProcessor] = []  # the processor, once its consumer has started

    ready = broker_ready(lambda: running[0].producer if running else None)
    await beside_health(measure(settings, stopping, running), create_http_app(ready), settings.norms_host,
                        settings.norms_port, stopping)


async def measure(settings: NormsSettings, stopping: asyncio.Event, running: list[BatchProcessor]) -> None:
    """Measure decisions until ``stopping`` is set; while the broker is away, start-up waits for it."""
    await ensure_topics(settings, [DECISIONS, DEAD_LETTERS], stopping=stopping)
    source = source_urn(settings.oin, "loket-norms")
    producer = await start_producer(settings, stopping=stopping)  # for dead letters only
    # The group faust's agent committed in: the switch from faust carries on where it stopped.
    consumer = group_consumer(settings, SERVICE)
    routes = {topic_name(settings, DECISIONS): Route(decision_handler(OutcomeTally(), RecentIds()))}
    processor = BatchProcessor(consumer, producer, routes, dead_letters=topic_name(settings, DEAD_LETTERS),
                               source=source, name=SERVICE, batch_size=settings.norms_batch_size,
                               renew_producer=lambda: start_producer(settings, stopping=stopping))
    consumer.subscribe(processor.topics, listener=processor)
    try:
        await start_consumer(consumer, settings, stopping=stopping)
        running.append(processor)
        log.info("norms_started")
        await processor.run(stopping)
    finally:
        # Each within a bound: a consumer's stop leaves its group, and a producer's flushes, for as long as the
        # broker is away. Nothing is committed here: what was not is delivered again.
        timeout = settings.stop_timeout_seconds * CLIENT_STOP_SHARE
        await asyncio.gather(stop_client(consumer, timeout), stop_client(processor.producer, timeout))
        log.info("norms_stopped")


def main() -> None:
    settings = NormsSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_until_signalled(serve, settings)
