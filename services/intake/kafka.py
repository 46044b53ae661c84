"""The intake's Kafka adapter: publish one event and wait until the broker has it, for a bounded time."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from plumbing.exceptions import Stopped
from plumbing.kafka import ensure_topics, event_record, start_producer, stop_client, topic_name
from plumbing.outage import Outage
from plumbing.settings import KafkaSettings
from schemas import CloudEvent
from schemas.topics import TopicSpec
from services.intake.exceptions import PublishFailed

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

    def __init__(self, producer: AIOKafkaProducer | None, settings: KafkaSettings, timeout: float) -> None:
        self._producer = producer
        self._connected = asyncio.Event()
        if producer is not None:
            self._connected.set()
        self._settings = settings
        self._timeout = timeout
        self._outage = Outage("broker")  # once connected: the start tells of an outage before that itself
        self._failed: str | None = None

    async def connect(self, topics: Sequence[TopicSpec], stopping: asyncio.Event) -> None:
        """Make sure ``topics`` exist and start the producer, trying until the broker answers or ``stopping``
        is set. What is not the broker being away (a topic with another partition count) is logged, and
        keeps the intake not ready."""
        try:
            await ensure_topics(self._settings, topics, stopping=stopping)
            self._producer = await start_producer(self._settings, stopping=stopping)
        except Stopped:
            return
        except Exception as exc:
            self._failed = type(exc).__name__
            log.error("intake_kafka_start_failed", error=self._failed, detail=str(exc))
            return
        self._connected.set()

    async def close(self, timeout: float) -> None:
        """Stop the producer, if there is one, within ``timeout`` seconds (it flushes while the broker is away)."""
        if self._producer is not None:
            await stop_client(self._producer, timeout)

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
