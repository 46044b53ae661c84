"""Kafka plumbing: topic names with the configured prefix, creating topics, an idempotent producer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder, MessageBatch  # documented, not exported
from murmurhash2 import murmurhash2
from pydantic import BaseModel

from plumbing.exceptions import KafkaUnavailable, PartitionMismatch
from plumbing.outage import Outage
from plumbing.retry import broker_away, until_it_works
from plumbing.settings import KafkaSettings
from schemas.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from schemas.topics import TopicSpec

log = structlog.get_logger(__name__)
T = TypeVar("T")
#: Attempts to reach the broker before a command-line tool gives up (services, given ``stopping``, never do):
#: with the retry's backoff about 13 s of waiting on average, 25 s at most, within the 30 s tools had before.
BOUNDED_ATTEMPTS = 8
#: Seconds a client that failed to start (or an admin client that is done) may take to close.
CLIENT_STOP_TIMEOUT = 2.0


def mend_aiokafka() -> None:
    """Two defects of aiokafka 0.14 that a broker outage brings out, mended on its classes, so that every client
    in the process has the mends. Done once, on importing this module.

    - A metadata request that no broker answered is asked again at once whenever the producer holds records, or
      the consumer fetches, for a partition without a known leader (``Sender._sender_routine``,
      ``Fetcher._fetch_requests_routine``, both through ``AIOKafkaClient.force_metadata_update``). With the broker
      away, connections are refused at once: a loop at full CPU logging some 14,000 records a second
      (``bench/outage_cpu.py``), and no setting governs it. A failed request now returns after the client's
      retry backoff (100 ms).
    - A batch that fails (records that expired without a leader) fails two futures that may have no reader:
      its drain waiter, read only by a sender waiting for room on the partition, and its own future, which
      ``send_batch`` hands out behind ``asyncio.shield``: once ``send_all`` gave up on the shield (the broker's
      silence past the request timeout), the shield no longer reads it. asyncio then logs each as an error
      nobody retrieved, lines of their own. Both are marked read; whoever awaits them still gets the error."""
    update = AIOKafkaClient._metadata_update
    if getattr(update, "mended", False):
        return

    async def paced(client: AIOKafkaClient, cluster_metadata: object, topics: object) -> bool:
        updated: bool = await update(client, cluster_metadata, topics)
        if not updated:
            await asyncio.sleep(client._retry_backoff)
        return updated

    fail = MessageBatch.failure

    def failure(batch: MessageBatch, exception: BaseException) -> None:
        fail(batch, exception)
        for future in (batch.future, batch._drain_waiter):
            if future.done() and not future.cancelled():
                future.exception()

    paced.mended = True  # type: ignore[attr-defined]
    AIOKafkaClient._metadata_update = paced  # type: ignore[method-assign]
    MessageBatch.failure = failure  # type: ignore[method-assign]


mend_aiokafka()

#: How long the producer waits for the broker's answer to a request; ``send_all`` waits as long for its records.
REQUEST_TIMEOUT_MS = 30_000
#: Bytes of one batch of records for a partition (aiokafka's default is 16 KiB): a batch handed to the producer
#: at once is a few hundred records, in one request rather than a dozen. Below the broker's 1 MiB message limit.
MAX_BATCH_BYTES = 256 * 1024

Headers = tuple[tuple[str, bytes], ...]
#: The Kafka binding's header of a structured-mode CloudEvent: every event Loket publishes carries it.
CLOUDEVENT_HEADERS: Headers = (("content-type", STRUCTURED_CONTENT_TYPE.encode()),)


class Record(NamedTuple):
    """One record to publish; without a partition the producer's partitioner picks it from the key."""

    topic: str
    key: bytes
    value: bytes | None
    partition: int | None = None
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event to publish, in the contract's terms: its topic's name in the contract (without a deployment's
    prefix), its key, its type, and its structured-mode bytes, encoded once where the event was made.

    The one type of "a record to publish" above the wire: the router's handlers return it, the case service's
    outbox stores it and its relay reads it back; ``record`` puts it on a deployment's topic as a ``Record``.
    """

    topic: str
    key: str
    value: bytes
    event_type: str | None  # None only in outbox rows stored before the outbox recorded types

    @classmethod
    def of(cls, topic: TopicSpec, key: str, event: CloudEvent) -> Outgoing:
        return cls(topic.name, key, event.to_bytes(), event.type)

    @classmethod
    def new(cls, topic: TopicSpec, key: str, kind: type[CloudEvent], data: BaseModel, *, source: str,
            time: dt.datetime, id: str) -> Outgoing:
        """A new event of type ``kind`` about ``key`` (its subject), encoded straight from its data (see
        ``CloudEvent.encode``)."""
        return cls(topic.name, key, kind.encode(source=source, data=data, subject=key, time=time, id=id),
                   kind.event_type())

    def record(self, settings: KafkaSettings) -> Record:
        """The record on this deployment's topic, in the Kafka binding's structured mode."""
        return Record(topic_name(settings, self.topic), self.key.encode(), self.value, headers=CLOUDEVENT_HEADERS)


def event_record(topic: str, key: str | bytes, event: CloudEvent | bytes) -> Record:
    """A CloudEvent (or its structured-mode bytes) as a record in the Kafka binding's structured mode."""
    value = event if isinstance(event, bytes) else event.to_bytes()
    return Record(topic, key.encode() if isinstance(key, str) else key, value, headers=CLOUDEVENT_HEADERS)


#: A compacted topic keeps a superseded value at least this long: far longer than a batch can stay sent
#: but uncommitted, so a changelog still holds the value from before an uncommitted change.
MIN_COMPACTION_LAG_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class InternalTopic:
    """A topic of one service's own (not in the contract), named in full; compacted ones keep the
    latest record per key, as a changelog of keyed state must."""

    name: str
    compacted: bool = False
    retention_ms: int | None = None  # compacted and deleted after this: keyed state that expires by itself


def topic_name(settings: KafkaSettings, spec: TopicSpec | str) -> str:
    """The topic's name on this broker: the contract's name behind the configured prefix."""
    return f"{settings.topic_prefix}{spec.name if isinstance(spec, TopicSpec) else spec}"


def group_id(settings: KafkaSettings, service: str) -> str:
    """Consumer group (and faust app id) of a service, isolated by the topic prefix."""
    return f"{settings.topic_prefix}loket-{service}"


async def ensure_topics(settings: KafkaSettings, specs: Iterable[TopicSpec], attempts: int = BOUNDED_ATTEMPTS,
                        internal: Iterable[InternalTopic] = (), *, stopping: asyncio.Event | None = None,
                        outage: Outage | None = None) -> list[str]:
    """Create the topics that do not exist yet; returns the names created. Harmless to repeat.

    Every topic, a service's internal ones too, must have the deployment's partition count.
    Tried again while the broker cannot be reached, like ``start_producer`` (see there for ``stopping``).
    """
    specs, internal = list(specs), list(internal)
    if templates := [s.name for s in specs if s.parameters]:
        raise ValueError(f"a parametrised topic is many topics; ensure its concrete ones: {templates}")
    created: list[str] = []

    async def attempt() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            own = {t.name: t for t in internal}
            kept = {topic_name(settings, s): s.retention_ms for s in specs}
            wanted = [topic_name(settings, s) for s in specs] + [t.name for t in internal]
            await _check_partitions(admin, [name for name in wanted if name in existing], settings.topic_partitions)
            for name in wanted:
                if name not in existing and name not in created:
                    await _create(admin, name, settings, own.get(name), kept.get(name))
                    created.append(name)
        finally:
            await stop_client(admin, CLIENT_STOP_TIMEOUT)

    await _until_connected(attempt, settings, stopping=stopping, attempts=attempts, outage=outage)
    if created:
        log.info("topics_created", topics=created, partitions=settings.topic_partitions)
    return created


async def existing_topics(settings: KafkaSettings, attempts: int = BOUNDED_ATTEMPTS) -> set[str]:
    """The names of the topics on the broker (tried again while it cannot be reached, ``attempts`` times)."""

    async def attempt() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
        try:
            await admin.start()
            return set(await admin.list_topics())
        finally:
            await stop_client(admin, CLIENT_STOP_TIMEOUT)

    return await _until_connected(attempt, settings, stopping=None, attempts=attempts, outage=None)


async def _check_partitions(admin: AIOKafkaAdminClient, names: list[str], expected: int) -> None:
    """Keyed state (the router's per-party state) needs every topic of a deployment to have the same
    partition count; a topic made with another count would silently split a party's history."""
    if not names:
        return
    for topic in await admin.describe_topics(names):
        found = len(topic["partitions"])
        if found != expected:
            raise PartitionMismatch(
                f"topic {topic['topic']} has {found} partitions but LOKET_TOPIC_PARTITIONS is {expected}; "
                f"set LOKET_TOPIC_PARTITIONS={found} for every service of this deployment"
            )


async def delete_deployment_topics(settings: KafkaSettings) -> list[str]:
    """Delete every topic under the configured prefix, the services' internal ones too; for throw-away
    deployments (tests, benchmarks), so it refuses an empty prefix."""
    if not settings.topic_prefix:
        raise ValueError("refusing to delete every topic on the broker: LOKET_TOPIC_PREFIX is empty")
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        doomed = [name for name in await admin.list_topics() if name.startswith(settings.topic_prefix)]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, name: str, settings: KafkaSettings,
                  internal: InternalTopic | None, retention_ms: int | None = None) -> None:
    configs: dict[str, str] = {} if retention_ms is None else {"retention.ms": str(retention_ms)}
    if internal is not None and internal.compacted:
        configs = {"cleanup.policy": "compact", "min.compaction.lag.ms": str(MIN_COMPACTION_LAG_MS)}
    if internal is not None and internal.retention_ms is not None:
        configs |= {"cleanup.policy": "compact,delete" if internal.compacted else "delete",
                    "retention.ms": str(internal.retention_ms)}
    topic = NewTopic(name, settings.topic_partitions, settings.topic_replication, topic_configs=configs)
    try:
        await admin.create_topics([topic])
    except TopicAlreadyExistsError:
        pass  # another service created it between our list and create


#: How long a group member may go without fetching before aiokafka takes it out of its group: a day, since a
#: processor holding a batch waits for an absent broker or database as long as it is away, and must still
#: own the batch's partitions when it commits (heartbeats, sent from aiokafka's own task, go on meanwhile).
MAX_POLL_INTERVAL_MS = 24 * 60 * 60 * 1000


def group_consumer(settings: KafkaSettings, service: str, **overrides: object) -> AIOKafkaConsumer:
    """A consumer in a service's group with explicit commits, from the start of topics new to the group."""
    config: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": group_id(settings, service),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_poll_interval_ms": MAX_POLL_INTERVAL_MS,
    }
    config.update(overrides)
    return AIOKafkaConsumer(**config)


def reading_consumer(settings: KafkaSettings, service: str | None, specs: Iterable[TopicSpec]) -> AIOKafkaConsumer:
    """A consumer of every partition of ``specs``, assigned rather than balanced in a group: for a service that
    must see all of each topic (the norms read every contact), in one process, and for tools. A service's group
    keeps only its committed offsets (Kafka takes a commit from a consumer outside the group's membership); a tool
    (``service`` None) has no group. Start it with ``start_consumer``; its positions are the committed offsets, or
    the start of each partition."""
    if service is None:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="earliest")
    else:
        consumer = group_consumer(settings, service)
    consumer.assign([TopicPartition(topic_name(settings, spec), partition) for spec in specs
                     for partition in range(settings.topic_partitions)])
    return consumer


#: The seed of Kafka's murmur2 partitioner (``Utils.murmur2`` of the Java clients).
MURMUR2_SEED = 0x9747B28C


def partition_of(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's default partitioner (murmur2, as Kafka's Java clients), with the hash in native code: aiokafka's
    murmur2 is pure Python and cost 5-20 us a key, on every record sent."""
    if key is None:
        return DefaultPartitioner()(key, all_partitions, available)
    return all_partitions[(murmurhash2(key, MURMUR2_SEED) & 0x7FFFFFFF) % len(all_partitions)]


#: Milliseconds a record sent on its own (the intake's, one per request) waits for others to share its request.
#: Producers that hand over whole batches (``send_all``: the batch processors) pass 0: their batches are built
#: before the producer sees them, and a linger would only delay each (by 5 ms a cycle, in the router's latency).
LINGER_MS = 5


def make_producer(settings: KafkaSettings, **overrides: object) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas: an accepted event is not lost."""
    config: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "partitioner": partition_of,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": LINGER_MS,
        "max_batch_size": MAX_BATCH_BYTES,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
    }
    config.update(overrides)
    return AIOKafkaProducer(**config)


async def start_producer(settings: KafkaSettings, attempts: int = BOUNDED_ATTEMPTS, *,
                         stopping: asyncio.Event | None = None, outage: Outage | None = None,
                         linger_ms: int = LINGER_MS) -> AIOKafkaProducer:
    """A started producer, tried again (a new one each time) while the broker cannot be reached.

    With ``stopping`` (a service) it is tried until it works, however long the broker is away, and
    ``Stopped`` is raised once ``stopping`` is set. Without it (command-line tools, tests) it gives up
    after ``attempts`` with ``KafkaUnavailable``. Failed attempts are told to ``outage``: pass a service's own
    to tell its start-up's outage once across these calls, and to know why it is not ready yet (``away``).
    """

    async def attempt() -> AIOKafkaProducer:
        producer = make_producer(settings, linger_ms=linger_ms)
        try:
            await producer.start()
        except BaseException:  # failed, or cancelled by a stop: its connections and tasks go with it
            await stop_client(producer, CLIENT_STOP_TIMEOUT)
            raise
        return producer

    return await _until_connected(attempt, settings, stopping=stopping, attempts=attempts, outage=outage)


async def start_consumer(consumer: AIOKafkaConsumer, settings: KafkaSettings, attempts: int = BOUNDED_ATTEMPTS, *,
                         stopping: asyncio.Event | None = None, outage: Outage | None = None) -> None:
    """Start a consumer, tried again while the broker cannot be reached, as ``start_producer`` does.

    The same consumer is started again: a start that failed to reach the broker leaves nothing behind.
    Stop it (``stop_client``) also when this raises.
    """
    await _until_connected(consumer.start, settings, stopping=stopping, attempts=attempts, outage=outage)


async def stop_client(client: AIOKafkaProducer | AIOKafkaConsumer | AIOKafkaAdminClient, timeout: float) -> None:
    """Stop a Kafka client, waiting at most ``timeout`` seconds.

    A producer's stop first sends what it still holds, and waits for as long as the broker is away; a
    consumer's leaves its group. Beyond ``timeout`` the stop is abandoned (told once): what the broker had
    not acknowledged was never committed as done, so it is delivered again.
    """
    stop = client.close if isinstance(client, AIOKafkaAdminClient) else client.stop
    closing = asyncio.ensure_future(stop())
    try:
        done, _ = await asyncio.wait({closing}, timeout=timeout)
    finally:
        if not closing.done():
            closing.cancel()
            await asyncio.gather(closing, return_exceptions=True)
    if not done:
        log.warning("kafka_client_stop_abandoned", client=type(client).__name__, timeout_seconds=timeout)
    elif not closing.cancelled() and closing.exception() is not None:
        log.warning("kafka_client_stop_failed", client=type(client).__name__,
                    error=type(closing.exception()).__name__)


def broker_not_answering(error: BaseException) -> bool:
    """Whether a client's start (or an admin request) failed because the broker does not answer: what
    ``broker_away`` accepts, and also aiokafka's bare ``KafkaError`` when no broker gave metadata and an admin
    request's plain timeout while it waits for a connection."""
    return broker_away(error) or isinstance(error, TimeoutError) or type(error) is KafkaError


async def _until_connected(attempt: Callable[[], Awaitable[T]], settings: KafkaSettings, *,
                           stopping: asyncio.Event | None, attempts: int, outage: Outage | None) -> T:
    """``attempt()`` with capped, jittered backoff while the broker does not answer, the outage told once.

    With ``stopping``: until it works, or ``Stopped``; an attempt to connect holds nothing worth finishing, so
    a stop cancels it at once. Without: ``KafkaUnavailable`` after ``attempts``.
    """
    outage = outage or Outage("broker")
    if stopping is not None:
        return await until_it_works(attempt, outage=outage, stopping=stopping, retry_on=broker_not_answering,
                                    grace=0)
    tried = 0

    async def counted() -> T:
        nonlocal tried
        tried += 1
        try:
            return await attempt()
        except Exception as exc:
            if tried >= attempts and broker_not_answering(exc):
                raise KafkaUnavailable(f"cannot reach Kafka at {settings.kafka_bootstrap} in {tried} attempts: "
                                       f"{type(exc).__name__}: {exc}") from exc
            raise

    return await until_it_works(counted, outage=outage, stopping=asyncio.Event(), retry_on=broker_not_answering)


async def send_all(producer: AIOKafkaProducer, records: Iterable[Record]) -> None:
    """Send records and wait until Kafka has every one of them.

    The records are packed into batches by partition here (in order; a full batch is handed over and the next
    begun) and handed to the producer a batch at a time: ``producer.send`` per record costs several times more
    (a coroutine, a metadata check and a future each), which was most of the outbox relay's time."""
    pending: list[asyncio.Future[object]] = []
    partitions: dict[str, list[int]] = {}
    open_batches: dict[tuple[str, int], BatchBuilder] = {}

    async def hand_over(topic: str, partition: int, batch: BatchBuilder) -> None:
        future = await producer.send_batch(batch, topic, partition=partition)
        # Should a later hand-over fail (no metadata while the broker is away), the batches taken so far fail
        # later with nobody waiting for them: retrieved here, or asyncio logs each as an error nobody retrieved.
        future.add_done_callback(_retrieved)
        pending.append(future)

    for r in records:
        if (every := partitions.get(r.topic)) is None:
            every = partitions[r.topic] = sorted(await producer.partitions_for(r.topic))
        at = (r.topic, r.partition if r.partition is not None else partition_of(r.key, every, every))
        batch = open_batches.get(at)
        if batch is None:
            batch = open_batches[at] = producer.create_batch()
        if batch.append(timestamp=None, key=r.key, value=r.value, headers=list(r.headers)) is None:  # full
            await hand_over(*at, batch)
            batch = open_batches[at] = producer.create_batch()
            batch.append(timestamp=None, key=r.key, value=r.value, headers=list(r.headers))  # the first always fits
    for (topic, partition), batch in open_batches.items():
        await hand_over(topic, partition, batch)
    if not pending:
        return
    # An idempotent producer tries a batch again for as long as the broker is away, and aiokafka only gives up
    # on one whose partition has lost its leader: without a bound, a send under way when the broker left would
    # wait out the whole outage without a word. After the producer's own request timeout it is told as the
    # broker being away (the caller sends again: copies, never gaps; consumers take a copy as one).
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_MS / 1000):
            await asyncio.gather(*pending)
    except TimeoutError:
        raise KafkaTimeoutError(f"no acknowledgement of the records within {REQUEST_TIMEOUT_MS / 1000:g}s") from None


def _retrieved(future: asyncio.Future[object]) -> None:
    if not future.cancelled():
        future.exception()


async def open_reader(settings: KafkaSettings, spec: TopicSpec, *, from_end: bool = False) -> AIOKafkaConsumer:
    """A group-less reader of every partition of a topic, positioned at its start (or its end) before returning.

    For looking at a topic (demo, tests, tools); services consume in consumer groups instead.
    """
    consumer = AIOKafkaConsumer(
        topic_name(settings, spec),
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="latest" if from_end else "earliest",
    )
    await consumer.start()
    for _ in range(200):  # without a group, partitions are assigned once metadata has arrived
        if consumer.assignment():
            break
        await asyncio.sleep(0.05)
    else:
        await consumer.stop()
        raise KafkaUnavailable(f"topic {topic_name(settings, spec)} has no partitions (does it exist?)")
    for partition in consumer.assignment():
        await consumer.position(partition)  # pins the position now, not at the first fetch
    return consumer
