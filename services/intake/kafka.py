"""The intake's Kafka adapter: publish one event and wait until the broker has it, for a bounded time; and the
journal of Idempotency-Keys, a compacted topic of the intake's own, read back at start-up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from plumbing.changelog import read_changelog
from plumbing.exceptions import StateUnavailable, Stopped
from plumbing.kafka import (InternalTopic, Record, broker_not_answering, ensure_topics, event_record, group_id,
                            send_all, start_producer, stop_client, topic_name)
from plumbing.outage import Outage
from plumbing.retry import until_it_works
from plumbing.settings import KafkaSettings
from schemas import CloudEvent
from schemas.topics import Service, TopicSpec
from services.intake.exceptions import PublishFailed
from services.intake.idempotency import IdempotencyMemory, RememberedKey

log = structlog.get_logger(__name__)


class KafkaPublisher:
    """Publishes with acks=all on an idempotent producer; returns only once the event is durable, and raises
    ``PublishFailed`` when the broker has not acknowledged it within ``timeout`` seconds.

    A question not acknowledged in time is not accepted (the caller answers 503), but the producer may
    still deliver it later; a client that retries with the same Idempotency-Key then gets the same event
    ids, which every consumer treats as one question.

    Without a ``producer`` it has none until ``connect`` has started one; a question meanwhile waits for it
    within the same ``timeout``.
    """

    def __init__(self, producer: AIOKafkaProducer | None, settings: KafkaSettings, timeout: float,
                 keys: IdempotencyMemory | None = None) -> None:
        self._producer = producer
        self._keys = keys
        self._journal = keys_topic(settings, keys.ttl_seconds) if keys is not None else None
        if keys is not None:
            keys.expect_restore(timeout)
        self._unwritten: list[Record] = []
        self._writing: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        if producer is not None:
            self._connected.set()
        self._settings = settings
        self._timeout = timeout
        self._outage = Outage("broker")  # once connected: the start tells of an outage before that itself
        self._failed: str | None = None

    async def connect(self, topics: Sequence[TopicSpec], stopping: asyncio.Event) -> None:
        """Make sure ``topics`` (and the journal of keys) exist, start the producer and read the journal back
        into the memory of keys, trying until the broker answers or ``stopping`` is set. What is not the broker
        being away (a topic with another partition count) is logged, and keeps the intake not ready."""
        try:
            await ensure_topics(self._settings, topics, internal=[self._journal] if self._journal else [],
                                stopping=stopping)
            self._producer = await start_producer(self._settings, stopping=stopping)
            if self._keys is not None:
                await self._read_back(self._keys, stopping)
        except Stopped:
            return
        except Exception as exc:
            self._failed = type(exc).__name__
            log.error("intake_kafka_start_failed", error=self._failed, detail=str(exc))
            return
        self._connected.set()

    async def _read_back(self, keys: IdempotencyMemory, stopping: asyncio.Event) -> None:
        """The journal's keys into the memory, then every new answer into the journal."""

        assert self._journal is not None
        journal = self._journal.name

        async def attempt() -> dict[int, dict[bytes, bytes]]:
            reader = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap, enable_auto_commit=False,
                                      client_id=group_id(self._settings, Service.INTAKE), group_id=None)
            await reader.start()
            try:
                partitions = [TopicPartition(journal, p) for p in range(self._settings.topic_partitions)]
                return await read_changelog(reader, partitions, {})
            finally:
                await stop_client(reader, self._timeout)

        read = await until_it_works(attempt, outage=Outage("broker"), stopping=stopping, grace=0,
                                    retry_on=lambda e: broker_not_answering(e) or isinstance(e, StateUnavailable))
        taken = keys.restore((key.decode(), value) for partition in read.values() for key, value in partition.items())
        log.info("idempotency_keys_read_back", keys=taken)
        keys.journal = self.write_key

    def write_key(self, key: str, remembered: RememberedKey) -> None:
        """Hand a first answer to the journal, without waiting for the broker: the client has its 202. Answers
        are written in batches: those that come while a batch is under way go together in the next."""
        assert self._journal is not None
        self._unwritten.append(Record(self._journal.name, key.encode(), remembered.model_dump_json().encode()))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_all())

    async def _write_all(self) -> None:
        """Every answer handed over until none is left, a batch at a time. One task and one ``send_all`` per
        batch, not a task and a ``send`` per key: that was 0.1-0.4 ms of CPU per question (bench/intake.py)."""
        assert self._producer is not None
        while self._unwritten:
            records, self._unwritten = self._unwritten, []
            try:
                await send_all(self._producer, records)
            except Exception as exc:  # noqa: BLE001 - a writer that stopped would leave the answers after it behind
                # A retry after a restart is then published again, as the same event. Not a Kafka error: our fault.
                (log.warning if isinstance(exc, KafkaError) else log.error)(
                    "idempotency_keys_not_journalled", keys=len(records), error=type(exc).__name__)

    async def close(self, timeout: float) -> None:
        """Stop the producer, if there is one, within ``timeout`` seconds (it flushes while the broker is away). The
        journal's writer gets half of it to have its batches acknowledged; should the broker be slow, what it
        still holds is handed to the producer unacknowledged, and goes out with the producer's flush."""
        if self._keys is not None:
            self._keys.journal = None
        started = time.monotonic()
        if self._writing is not None:
            await asyncio.wait([self._writing], timeout=timeout / 2)
            if not self._writing.done():
                self._writing.cancel()  # its batches handed over so far stay with the producer
                await asyncio.gather(self._writing, return_exceptions=True)
        if self._unwritten and self._producer is not None:
            await self._hand_over(self._unwritten, timeout / 4)
            self._unwritten = []
        if self._producer is not None:
            await stop_client(self._producer, timeout - (time.monotonic() - started))

    async def _hand_over(self, records: list[Record], timeout: float) -> None:
        assert self._producer is not None
        try:
            async with asyncio.timeout(timeout):
                for record in records:
                    await self._producer.send(record.topic, record.value, key=record.key)
        except (TimeoutError, KafkaError) as exc:
            log.warning("idempotency_keys_not_journalled", keys=len(records), error=type(exc).__name__)

    async def publish(self, topic: TopicSpec, key: str, event: CloudEvent) -> None:
        record = event_record(topic_name(self._settings, topic), key, event)
        try:
            async with asyncio.timeout(self._timeout):
                await self._connected.wait()
                assert self._producer is not None
                await self._producer.send_and_wait(record.topic, record.value, key=record.key,
                                                   headers=list(record.headers))
        except TimeoutError as exc:
            if self._connected.is_set():
                self._outage.failed("no acknowledgement in time")
            raise PublishFailed(f"Kafka did not acknowledge the event within {self._timeout:g}s") from exc
        except KafkaError as exc:
            self._outage.failed(type(exc).__name__)
            raise PublishFailed(f"Kafka refused the event: {type(exc).__name__}") from exc
        self._outage.succeeded()

    async def unready_reason(self) -> str | None:
        """Why the intake cannot accept questions now (``broker unreachable``), or None: asks the broker."""
        if self._failed is not None:
            return f"Kafka start failed: {self._failed}"
        if self._producer is None:
            return "broker unreachable"  # still trying to start: the start tells of the outage
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), self._timeout)
        except (TimeoutError, KafkaError) as exc:
            self._outage.failed(type(exc).__name__)
            return "broker unreachable"
        self._outage.succeeded()
        return None


def keys_topic(settings: KafkaSettings, ttl_seconds: float) -> InternalTopic:
    """The journal of Idempotency-Keys: compacted (the latest answer per key), and its records deleted after the
    memory's time to live as well, so it does not grow with every key ever used."""
    return InternalTopic(f"{group_id(settings, Service.INTAKE)}-idempotency-keys", compacted=True,
                         retention_ms=int(ttl_seconds * 1000))
