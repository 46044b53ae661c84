"""Entry point of ``loket norms``: wiring only.

The norms are measured from the topics themselves, which are their history: at every start the service reads
the contacts, decisions and case events from the beginning up to the offsets it committed before (quietly: it
dead-lettered what it refused then), then goes on from there on the project's batch processor, which commits
after each batch and parks refused records on the dead-letter topic. What the service knows is so always a
function of the topics, the very one ``loket norms rebuild`` computes: a crash, even SIGKILL mid-batch, loses
nothing and counts nothing twice (a batch delivered again after a crash is read into a book built without it).

Not faust: under a broker outage faust-streaming 0.15 kept the process alive but flooded its log and did not
stop on SIGTERM; its open bugs #596 and #606 break "nothing lost", as they did for the router; and a faust table
would be a second copy of what the topics already hold.

The service reads every partition of its topics itself (assigned, not balanced in its group, whose committed
offsets it keeps): the thermometer needs every contact. Run one per deployment; a second is a copy, not a share.
"""

from __future__ import annotations

import asyncio

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from plumbing.health import beside_health, broker_ready
from plumbing.kafka import (ensure_topics, reading_consumer, start_consumer, start_producer, stop_client,
                            topic_name)
from plumbing.lifecycle import run_until_signalled
from plumbing.logging import configure_logging
from plumbing.organisation import Organisation, load_organisation
from plumbing.outage import Outage
from plumbing.processor import BatchProcessor, Handler, Route
from plumbing.retry import broker_away, until_it_works
from schemas.envelope import source_urn
from schemas.topics import DEAD_LETTERS, Service, TopicSpec
from services.norms import metrics
from services.norms.history import read_up_to
from services.norms.http import create_http_app
from services.norms.reading import READ_TOPICS, Reading
from services.norms.settings import NormsSettings

log = structlog.get_logger(__name__)
SERVICE = Service.NORMS
#: Share of the stop timeout the Kafka clients have to stop in, together, once measuring has ended (which
#: takes at most the retry's stop grace): the whole stays within the timeout.
CLIENT_STOP_SHARE = 0.3
#: The group the norms' reader commits its offsets in. Not the service's subscribed group of earlier versions: a
#: consumer outside a group's membership may commit only while the group has no members, and an old member still
#: alive during an upgrade would have the commits refused.
READER_GROUP = f"{SERVICE}-reader"
#: Seconds the committed offsets may take to arrive (aiokafka waits for the coordinator without a bound).
COMMITTED_PATIENCE = 30.0


class Measuring:
    """The service's state for its HTTP server: the reading, once the history is read, and the processor."""

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self.reading = Reading(organisation)
        self.history: str | None = "starting"  # why the figures are not whole yet; None once they are
        self.processor: BatchProcessor | None = None
        self.producer: AIOKafkaProducer | None = None  # once started, until the processor has its own

    def producer_in_use(self) -> AIOKafkaProducer | None:
        return self.processor.producer if self.processor is not None else self.producer

    def figures(self) -> Reading | str:
        return self.history if self.history is not None else self.reading


def measured(reading: Reading, spec: TopicSpec) -> Handler:
    """One record of ``spec`` in, taken into the reading; nothing out. What it refuses the processor parks."""

    def measure_one(record: ConsumerRecord) -> list:
        try:
            reading.take_record(spec, record)
        except Exception:
            metrics.RECORDS_REFUSED.inc()  # the processor parks it, with the reason, on the dead-letter topic
            raise
        return []

    return measure_one


async def read_history(consumer: AIOKafkaConsumer, specs: dict[str, TopicSpec], measuring: Measuring,
                       stopping: asyncio.Event, batch_size: int) -> None:
    """Read every assigned partition from its beginning up to the offset the service committed into a new
    reading, quietly (the counters count from here on), and leave the consumer there: the processor goes on
    from it. While the broker is away it starts again when it is back, as often as it takes."""

    async def attempt() -> None:
        measuring.reading = reading = Reading(measuring.organisation, counting=False)
        async with asyncio.timeout(COMMITTED_PATIENCE):
            committed = {tp: await consumer.committed(tp) or 0 for tp in consumer.assignment()}
        await read_up_to(consumer, specs, reading, committed, stopping, batch_size)

    await until_it_works(attempt, outage=Outage("broker"), stopping=stopping, retry_on=_broker_or_time)
    measuring.reading.counting = True
    measuring.reading.publish_first_contact_resolution()


def _broker_or_time(error: BaseException) -> bool:
    return broker_away(error) or isinstance(error, TimeoutError)


async def serve(settings: NormsSettings, stopping: asyncio.Event) -> None:
    """Measure, and answer thermometer, metrics and health requests, until ``stopping`` is set."""
    measuring = Measuring(load_organisation(settings.organisation_file))
    metrics.register(measuring.figures)
    ready = broker_ready(measuring.producer_in_use)

    async def ready_and_read() -> str | None:
        return await ready() or measuring.history  # the broker first: without it, reading waits too

    app = create_http_app(measuring.figures, ready_and_read, contact=settings.contact())
    await beside_health(measure(settings, stopping, measuring), app, settings.norms_host, settings.norms_port,
                        stopping)


async def measure(settings: NormsSettings, stopping: asyncio.Event, measuring: Measuring) -> None:
    """Read the history, then measure until ``stopping`` is set; while the broker is away, start-up waits."""
    await ensure_topics(settings, [*READ_TOPICS, DEAD_LETTERS], stopping=stopping)
    source = source_urn(settings.oin, "loket-norms")
    measuring.producer = producer = await start_producer(settings, stopping=stopping, linger_ms=0)  # dead letters
    consumer = reading_consumer(settings, READER_GROUP, READ_TOPICS)
    specs = {topic_name(settings, spec): spec for spec in READ_TOPICS}
    try:
        await start_consumer(consumer, settings, stopping=stopping)
        measuring.history = "reading the topics' history"
        await read_history(consumer, specs, measuring, stopping, settings.norms_batch_size)
        if stopping.is_set():
            return  # stopped while reading: the figures are not whole, and are not shown as if they were
        routes = {name: Route(measured(measuring.reading, spec)) for name, spec in specs.items()}
        measuring.processor = BatchProcessor(
            consumer, producer, routes, dead_letters=topic_name(settings, DEAD_LETTERS), source=source, name=SERVICE,
            batch_size=settings.norms_batch_size,
            renew_producer=lambda: start_producer(settings, stopping=stopping, linger_ms=0))
        measuring.history = None
        log.info("norms_started")
        await measuring.processor.run(stopping)
    finally:
        # Each within a bound: a producer's stop flushes for as long as the broker is away. Nothing is committed
        # here: what was not is read again.
        timeout = settings.stop_timeout_seconds * CLIENT_STOP_SHARE
        last = measuring.processor.producer if measuring.processor else producer
        await asyncio.gather(stop_client(consumer, timeout), stop_client(last, timeout))
        log.info("norms_stopped")


def main() -> None:
    settings = NormsSettings()
    configure_logging(settings.log_level, settings.log_format)
    run_until_signalled(serve, settings)

