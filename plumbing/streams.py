"""faust plumbing: one way to configure a Loket stream app, and batched sends that are durable
before faust acks the batch."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable
from typing import Any

import faust
import structlog

from plumbing.kafka import Record, group_id
from plumbing.settings import KafkaSettings

log = structlog.get_logger(__name__)

#: Exit code when output could not be made durable: a process manager (systemd…) restarts the service;
#: `loket run` stops every service and names the one that died.
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


async def publish(app: faust.App, records: Iterable[Record]) -> None:
    """Send records straight to the producer and wait until Kafka has all of them.

    Called inside a ``take_events`` batch, so the batch is acked (and its offsets committed) only
    after its output is durable: at-least-once, without an await per record on the broker. When the
    output cannot be made durable the process stops at once: faust would otherwise ack the batch on
    the way out, and its input would be lost. After the restart the batch is read again.
    """
    try:
        pending = [
            await app.producer.send(r.topic, r.key, r.value, partition=r.partition, timestamp=None,
                                    headers=list(r.headers) or None)
            for r in records
        ]
        if pending:
            await asyncio.gather(*pending)
    except Exception as exc:  # noqa: BLE001
        log.critical("publish_failed_stopping", error=type(exc).__name__)
        os._exit(EXIT_PUBLISH_FAILED)
