"""faust plumbing: one way to configure a Loket stream app, and batched sends that finish before the ack."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import faust

from plumbing.kafka import group_id
from plumbing.settings import KafkaSettings

#: (topic name, key, value) of one record to publish.
Record = tuple[str, bytes, bytes]


def stream_app(settings: KafkaSettings, service: str, **overrides: Any) -> faust.App:
    """A faust app on raw bytes (we parse with pydantic), its consumer group isolated by the topic prefix."""
    config: dict[str, Any] = dict(
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        web_enabled=False,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
    )
    config.update(overrides)
    return faust.App(group_id(settings, service), **config)


async def publish(app: faust.App, records: Iterable[Record]) -> None:
    """Send records straight to the producer and wait until Kafka has all of them.

    Called inside a ``take_events`` batch, so the batch is acked (and its offsets committed) only
    after its output is durable: at-least-once, without an await per record on the broker.
    """
    pending = [
        await app.producer.send(topic, key, value, partition=None, timestamp=None, headers=None)
        for topic, key, value in records
    ]
    if pending:
        await asyncio.gather(*pending)
