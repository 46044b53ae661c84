"""The intake's Kafka adapter: publish one event and wait until the broker has it."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from plumbing.kafka import event_record, topic_name
from plumbing.settings import KafkaSettings
from schemas import CloudEvent
from schemas.topics import TopicSpec
from services.intake.exceptions import PublishFailed


class KafkaPublisher:
    """Publishes with acks=all on an idempotent producer; returns only once the event is durable."""

    def __init__(self, producer: AIOKafkaProducer, settings: KafkaSettings) -> None:
        self._producer = producer
        self._settings = settings

    async def publish(self, topic: TopicSpec, key: str, event: CloudEvent) -> None:
        try:
            record = event_record(topic_name(self._settings, topic), key, event)
            await self._producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers))
        except KafkaError as exc:
            raise PublishFailed(f"Kafka refused the event: {type(exc).__name__}") from exc
