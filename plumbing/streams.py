"""faust plumbing: one way to configure a Loket stream app, records handled one by one without ever
losing a batch, and batched sends that are durable before faust acks the batch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import faust
import structlog

from plumbing.deadletters import RawRecord, Refused, refuse
from plumbing.kafka import group_id
from plumbing.settings import KafkaSettings

log = structlog.get_logger(__name__)

class Record(NamedTuple):
    """One record to publish; without a partition the producer's partitioner picks it from the key."""

    topic: str
    key: bytes
    value: bytes
    partition: int | None = None
#: Exit code when output could not be made durable: the supervisor (or systemd) restarts us.
EXIT_PUBLISH_FAILED = 75


def stream_app(settings: KafkaSettings, service: str, **overrides: Any) -> faust.App:
    """A faust app on raw bytes (we parse with pydantic), its consumer group isolated by the topic prefix."""
    workdir = settings.state_dir / "faust"
    workdir.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = dict(
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        web_enabled=False,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        # faust makes a working folder even for in-memory tables; keep it out of the current folder.
        datadir=str(workdir / "{conf.id}-data"),
    )
    config.update(overrides)
    return faust.App(group_id(settings, service), **config)


def guarded(
    handle: Callable[[RawRecord], list[Record]], record: RawRecord, *, dead_letters: str, source: str, consumer: str
) -> list[Record]:
    """``handle(record)``, or a dead letter when it refuses the record or fails on it.

    A batch from ``take_events`` is acked even when its body raises, so nothing may escape from one
    record: an unexpected error parks that record with its reason, and the batch goes on.
    """
    try:
        return handle(record)
    except Refused as refused:
        reason = refused.reason
    except Exception as exc:  # noqa: BLE001 — see the docstring; the type names the failure, the text may hold input
        reason = f"unexpected {type(exc).__name__} in {consumer}"
        log.error("record_failed", consumer=consumer, error=type(exc).__name__)
    key, value = refuse(record, reason, source=source, consumer=consumer)
    return [Record(dead_letters, key, value)]


async def publish(app: faust.App, records: Iterable[Record]) -> None:
    """Send records straight to the producer and wait until Kafka has all of them.

    Called inside a ``take_events`` batch, so the batch is acked (and its offsets committed) only
    after its output is durable: at-least-once, without an await per record on the broker. When the
    output cannot be made durable the process stops at once: faust would otherwise ack the batch on
    the way out, and its input would be lost. After the restart the batch is read again.
    """
    try:
        pending = [
            await app.producer.send(r.topic, r.key, r.value, partition=r.partition, timestamp=None, headers=None)
            for r in records
        ]
        if pending:
            await asyncio.gather(*pending)
    except Exception as exc:  # noqa: BLE001
        log.critical("publish_failed_stopping", error=type(exc).__name__)
        os._exit(EXIT_PUBLISH_FAILED)
