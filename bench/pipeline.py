"""Throughput of the router against a raw aiokafka consume→produce loop, on the same broker in one run.

    python bench/pipeline.py [--events 100000] [--partitions 4]

Needs the local stack (``loket stack up``). Prints events/s of each and their ratio; absolute
numbers depend on the machine and its noise, the ratio is what to compare between runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import subprocess
import sys
import time
import uuid

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console

from loket.simulator import QUESTIONS
from plumbing.kafka import delete_topics, ensure_topics, open_reader, topic_name
from plumbing.settings import KafkaSettings
from schemas import QuestionAsked, QuestionData
from schemas.envelope import source_urn
from schemas.topics import ALL_TOPICS, CONTACTS, DECISIONS, TopicSpec

console = Console()
FORWARD = TopicSpec("bench.forwarded.v1", key="as the input", description="raw loop output", events=())


async def produce_questions(settings: KafkaSettings, count: int) -> None:
    """``count`` realistic questions on the contacts topic, batched (no await per event)."""
    rng = random.Random(1)
    source = source_urn(settings.oin, "bench")
    now = dt.datetime.now(dt.timezone.utc)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, max_batch_size=262144)
    await producer.start()
    try:
        pending = []
        for i in range(count):
            channel, text = rng.choice(QUESTIONS)
            data = QuestionData(contact_id=f"b{i}", channel=channel, text=text, received_at=now)
            event = QuestionAsked.create(source=source, data=data, subject=data.contact_id, time=now)
            pending.append(await producer.send(topic_name(settings, CONTACTS), event.to_bytes(), key=data.contact_id.encode()))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def raw_loop(settings: KafkaSettings, count: int) -> float:
    """Consume the questions and forward each one unchanged; events/s from first record to last delivery."""
    consumer = AIOKafkaConsumer(topic_name(settings, CONTACTS), bootstrap_servers=settings.kafka_bootstrap,
                                group_id=f"{settings.topic_prefix}bench-raw", auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=2000)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5,
                                enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        seen, started = 0, None
        target = topic_name(settings, FORWARD)
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000)
            if not batches:
                continue  # still joining the group: the clock starts at the first records, as the router's does
            started = started or time.perf_counter()
            futures = [await producer.send(target, r.value, key=r.key) for rs in batches.values() for r in rs]
            await asyncio.gather(*futures)
            await consumer.commit()
            seen += len(futures)
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def router_run(settings: KafkaSettings, env: dict[str, str], count: int) -> float:
    """Start ``loket router`` on the questions; events/s from its first decision to its count-th."""
    process = subprocess.Popen([sys.executable, "-m", "loket", "router"], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    probe = await open_reader(settings, DECISIONS)  # only asks for end offsets; reads nothing
    try:
        partitions = list(probe.assignment())
        started = None
        while True:
            written = sum((await probe.end_offsets(partitions)).values())
            if written and started is None:
                started = time.perf_counter()
            if written >= count:
                return count / (time.perf_counter() - started)
            if process.poll() is not None:
                raise RuntimeError(f"the router stopped (exit code {process.returncode})")
            await asyncio.sleep(0.1)
    finally:
        await probe.stop()
        process.terminate()
        process.wait(timeout=30)


async def bench(events: int, partitions: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    env = {"LOKET_TOPIC_PREFIX": prefix, "LOKET_TOPIC_PARTITIONS": str(partitions), "LOKET_LOG_LEVEL": "warning"}
    settings = KafkaSettings(topic_prefix=prefix, topic_partitions=partitions)
    await ensure_topics(settings, [*ALL_TOPICS, FORWARD])
    try:
        with console.status(f"producing {events:,} questions…"):
            await produce_questions(settings, events)
        with console.status("raw aiokafka consume→produce loop…"):
            raw = await raw_loop(settings, events)
        console.print(f"raw aiokafka loop: {raw:>10,.0f} events/s")
        with console.status("loket router…"):
            routed = await router_run(settings, env, events)
    finally:
        await delete_topics(settings, [*ALL_TOPICS, FORWARD])
    console.print(f"loket router:      {routed:>10,.0f} events/s")
    console.print(f"ratio router/raw:  {routed / raw:>10.2f}   ({events:,} events, {partitions} partitions, "
                  f"{os.cpu_count()} cores)")


def main(events: int = typer.Option(100_000, help="Questions to push through."),
         partitions: int = typer.Option(4, help="Partitions of the benchmark's topics.")) -> None:
    asyncio.run(bench(events, partitions))


if __name__ == "__main__":
    typer.run(main)
