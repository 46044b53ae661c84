"""faust plumbing: one way to configure a faust app on Loket's topics. No service runs on faust any more (the
README says why); only the benchmark's bare faust baseline does."""

from __future__ import annotations

from typing import Any

import faust

from plumbing.kafka import group_id
from plumbing.settings import KafkaSettings


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
