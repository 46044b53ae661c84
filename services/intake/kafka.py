"""The intake's Kafka adapter: publish one event and wait until the broker has it, for a bounded time."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from plumbing.kafka import event_record, topic_name
from plumbing.outage import Outage
from plumbing.settings import KafkaSettings
from schemas import CloudEvent
from schemas.topics import TopicSpec
from services.intake.exceptions import PublishFailed


class KafkaPublisher:
    """Publishes with acks=all on an idempotent producer; returns only once the event is durable, and raises
    ``PublishFailed`` when the broker has not acknowledged it within ``timeout`` seconds.

    A question not acknowledged in time is not accepted (the caller answers 503), but the producer may
    still deliver it later; a client that retries with the same Idempotency-Key then gets the same event
    ids, which every consumer treats as one question.
    """

    def __init__(self, producer: AIOKafkaProducer, settings: KafkaSettings, timeout: float) -> None:
        self._producer = producer
        self._settings = settings
        self._timeout = timeout
        self._outage = Outage("broker")

    async def publish(self, topic: TopicSpec, key: str, event: CloudEvent) -> None:
        record = event_record(topic_name(self._settings, topic), key, event)
        try:
            await asyncio.wait_for(self._producer.send_and_wait(record.topic, record.value, key=record.key,
                                                                headers=list(record.headers)), self._timeout)
        except TimeoutError as exc:
            self._outage.failed("no acknowledgement in time")
            raise PublishFailed(f"Kafka did not acknowledge the event within {self._timeout:g}s") from exc
        except KafkaError as exc:
            self._outage.failed(type(exc).__name__)
            raise PublishFailed(f"Kafka refused the event: {type(exc).__name__}") from exc
        self._outage.succeeded()

    async def unready_reason(self) -> str | None:
        """Why the intake cannot accept questions now (``broker unreachable``), or None: asks the broker."""
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), self._timeout)
        except (TimeoutError, KafkaError) as exc:
            self._outage.failed(type(exc).__name__)
            return "broker unreachable"
        self._outage.succeeded()
        return None
