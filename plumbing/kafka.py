"""Kafka plumbing: topic names with the configured prefix, creating topics, an idempotent producer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from plumbing.exceptions import KafkaUnavailable, PartitionMismatch
from plumbing.settings import KafkaSettings
from schemas.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from schemas.topics import TopicSpec

log = structlog.get_logger(__name__)
ClientT = TypeVar("ClientT", AIOKafkaAdminClient, AIOKafkaProducer)


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


def topic_name(settings: KafkaSettings, spec: TopicSpec | str) -> str:
    """The topic's name on this broker: the contract's name behind the configured prefix."""
    return f"{settings.topic_prefix}{spec.name if isinstance(spec, TopicSpec) else spec}"


def group_id(settings: KafkaSettings, service: str) -> str:
    """Consumer group (and faust app id) of a service, isolated by the topic prefix."""
    return f"{settings.topic_prefix}loket-{service}"


async def ensure_topics(settings: KafkaSettings, specs: Iterable[TopicSpec], attempts: int = 30,
                        internal: Iterable[InternalTopic] = ()) -> list[str]:
    """Create the topics that do not exist yet; returns the names created. Harmless to repeat.

    Every topic, a service's internal ones too, must have the deployment's partition count.
    Retries while the broker comes up, like ``start_producer``: services may start before it is ready.
    """
    admin = await _started(
        lambda: AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000),
        settings, attempts, stop=lambda client: client.close(),
    )
    try:
        existing = set(await admin.list_topics())
        compacted = {t.name for t in internal if t.compacted}
        wanted = [topic_name(settings, s) for s in specs] + [t.name for t in internal]
        missing = [name for name in wanted if name not in existing]
        await _check_partitions(admin, [name for name in wanted if name in existing], settings.topic_partitions)
        for name in missing:
            await _create(admin, name, settings, compacted=name in compacted)
        if missing:
            log.info("topics_created", topics=missing, partitions=settings.topic_partitions)
        return missing
    finally:
        await admin.close()


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


async def _create(admin: AIOKafkaAdminClient, name: str, settings: KafkaSettings, compacted: bool) -> None:
    configs = {"cleanup.policy": "compact", "min.compaction.lag.ms": str(MIN_COMPACTION_LAG_MS)} if compacted else {}
    topic = NewTopic(name, settings.topic_partitions, settings.topic_replication, topic_configs=configs)
    try:
        await admin.create_topics([topic])
    except TopicAlreadyExistsError:
        pass  # another service created it between our list and create


def make_producer(settings: KafkaSettings, **overrides: object) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas: an accepted event is not lost."""
    config: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "request_timeout_ms": 30000,
    }
    config.update(overrides)
    return AIOKafkaProducer(**config)


async def start_producer(settings: KafkaSettings, attempts: int = 30) -> AIOKafkaProducer:
    """Start a producer, retrying while the broker comes up (services may start before it is ready)."""
    return await _started(lambda: make_producer(settings), settings, attempts, stop=lambda client: client.stop())


async def _started(make: Callable[[], ClientT], settings: KafkaSettings, attempts: int,
                   stop: Callable[[ClientT], Awaitable[object]]) -> ClientT:
    """A started Kafka client, trying once a second while the broker cannot be reached."""
    for attempt in range(1, attempts + 1):
        client = make()
        try:
            await client.start()
            return client
        except KafkaError as exc:
            await stop(client)
            if attempt == attempts:
                raise KafkaUnavailable(f"cannot reach Kafka at {settings.kafka_bootstrap}: {exc}") from exc
            log.warning("kafka_unreachable", bootstrap=settings.kafka_bootstrap, attempt=attempt)
            await asyncio.sleep(1.0)
    raise AssertionError("unreachable")


async def send_all(producer: AIOKafkaProducer, records: Iterable[Record]) -> None:
    """Send records and wait until Kafka has every one of them: one await per batch, not per record."""
    pending = [await producer.send(r.topic, r.value, key=r.key, partition=r.partition, headers=list(r.headers) or None)
               for r in records]
    if pending:
        await asyncio.gather(*pending)


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
