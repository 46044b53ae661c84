"""Throughput of the router against a raw aiokafka consume→produce loop, on the same broker in one run.

    python bench/pipeline.py [--events 100000] [--partitions 4] [--parties 5000] [--plumbing] [--without-rules]

Needs the local stack (``loket stack up``). Prints events/s of each and their ratio; absolute
numbers depend on the machine and its noise, the ratio is what to compare between runs. Raw loops
that are not counted (two at least, 200,000 records in all) warm the broker up first: on a broker
just started the first runs are slower.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console

from faust_forward import FORWARD  # bench/ is the script's folder

from loket.simulator import QUESTIONS
from plumbing.kafka import CLOUDEVENT_HEADERS, delete_deployment_topics, ensure_topics, open_reader, topic_name
from plumbing.settings import KafkaSettings
from schemas import PartyRef, QuestionAsked, QuestionData
from schemas.envelope import source_urn
from schemas.topics import CONTACTS, DECISIONS, FIXED_TOPICS, TopicSpec

console = Console()
HERE = Path(__file__).resolve().parent
#: Records the raw loops that warm the broker up go through in all (two loops at least).
WARM_UP_RECORDS = 200_000
RAW_FORWARD = TopicSpec("bench.raw-forwarded.v1", key="as the input", description="raw loop output", events=())


async def produce_questions(settings: KafkaSettings, count: int, parties: int = 5000) -> None:
    """``count`` realistic questions on the contacts topic, batched (no await per event); four in five
    from one of ``parties`` known parties, so the router's per-party state is exercised."""
    rng = random.Random(1)
    known = [PartyRef(pseudonym=f"{n:064x}", identified_by="bsn") for n in range(parties)]
    source = source_urn(settings.oin, "bench")
    now = dt.datetime.now(dt.timezone.utc)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, max_batch_size=262144)
    await producer.start()
    try:
        pending = []
        for i in range(count):
            channel, text = rng.choice(QUESTIONS)
            party = rng.choice(known) if rng.random() < 0.8 else None
            data = QuestionData(contact_id=f"b{i}", channel=channel, text=text, party=party, received_at=now)
            event = QuestionAsked.create(source=source, data=data, subject=data.contact_id, time=now)
            key = data.partition_key().encode()
            pending.append(await producer.send(topic_name(settings, CONTACTS), event.to_bytes(), key=key,
                                              headers=list(CLOUDEVENT_HEADERS)))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def raw_loop(settings: KafkaSettings, count: int, group: str = "bench-raw") -> float:
    """Consume the questions and forward each one unchanged; events/s from first record to last delivery."""
    consumer = AIOKafkaConsumer(topic_name(settings, CONTACTS), bootstrap_servers=settings.kafka_bootstrap,
                                group_id=f"{settings.topic_prefix}{group}", auto_offset_reset="earliest",
                                enable_auto_commit=False, max_poll_records=2000)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5,
                                enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        seen, started = 0, None
        target = topic_name(settings, RAW_FORWARD)
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000)
            if not batches:
                continue  # still joining the group: the clock starts at the first records, as the router's does
            started = started or time.perf_counter()
            futures = [await producer.send(target, r.value, key=r.key, headers=list(r.headers))
                       for rs in batches.values() for r in rs]
            await asyncio.gather(*futures)
            await consumer.commit()
            seen += len(futures)
        return count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()


async def process_run(command: list[str], output: TopicSpec, settings: KafkaSettings, env: dict[str, str],
                      count: int) -> float:
    """Start a stream process on the questions; events/s from its first output record to its count-th (counted from
    what the output topic held when it started)."""
    probe = await open_reader(settings, output)  # only asks for end offsets; reads nothing
    partitions = list(probe.assignment())
    before = sum((await probe.end_offsets(partitions)).values())
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        started = None
        while True:
            written = sum((await probe.end_offsets(partitions)).values()) - before
            if written and started is None:
                started = time.perf_counter()
            if written >= count:
                return count / (time.perf_counter() - started)
            if process.poll() is not None:
                raise RuntimeError(f"{command[-1]} stopped (exit code {process.returncode})")
            await asyncio.sleep(0.1)
    finally:
        await probe.stop()
        process.terminate()
        process.wait(timeout=30)


async def bench(events: int, partitions: int, parties: int, plumbing: bool, without_rules: bool) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    scratch = tempfile.mkdtemp(prefix="loket-bench-")  # faust's working files, removed after the run
    env = {"LOKET_TOPIC_PREFIX": prefix, "LOKET_TOPIC_PARTITIONS": str(partitions), "LOKET_LOG_LEVEL": "warning",
           "LOKET_STATE_DIR": scratch}
    settings = KafkaSettings(topic_prefix=prefix, topic_partitions=partitions)
    topics = [*FIXED_TOPICS, RAW_FORWARD, FORWARD]
    await ensure_topics(settings, topics)
    try:
        with console.status(f"producing {events:,} questions…"):
            await produce_questions(settings, events, parties)
        with console.status("warming the broker up: raw loops, not counted…"):
            # A broker just started is slow for its first few hundred thousand records (its JVM still compiling,
            # most likely). Five raw loops over the same 100,000 questions, one after the other on a fresh stack,
            # gave 22.5k, 23.7k, 29.7k, 32.8k and 31.7k/s; on the same stack afterwards 31-33k from the first.
            # Without this, a run on a fresh stack flatters the router (0.39; with one loop's warm-up 0.49 and 0.51;
            # 0.31-0.38 in the runs after); with it, the first run on a fresh stack gave 0.35.
            for warm_up in range(max(2, -(-WARM_UP_RECORDS // events))):
                await raw_loop(settings, events, group=f"bench-warm-up-{warm_up}")
        with console.status("raw aiokafka consume→produce loop…"):
            raw = await raw_loop(settings, events)
        console.print(f"raw aiokafka loop:       {raw:>10,.0f} events/s")
        with console.status("bare faust forwarding agent…"):
            bare = await process_run([sys.executable, str(HERE / "faust_forward.py")], FORWARD, settings, env, events)
        console.print(f"bare faust agent:        {bare:>10,.0f} events/s")
        with console.status("loket router…"):
            routed = await process_run([sys.executable, "-m", "loket", "router"], DECISIONS, settings, env, events)
        console.print(f"loket router:            {routed:>10,.0f} events/s")
        replays = [("records", "router's plumbing alone", "domain's")] if plumbing else []
        replays += [("rules", "router without its rules", "rules'")] if without_rules else []
        for mode, name, share in replays:  # bench/router_replayed.py: what is left with part of the work done before
            with console.status(f"{name}…"):
                replayed = await process_run([sys.executable, str(HERE / "router_replayed.py"), str(events), mode],
                                             DECISIONS, settings, env, events)
            console.print(f"{name + ':':25}{replayed:>10,.0f} events/s   "
                          f"({replayed / raw:.2f} x raw; {share} share {1 - routed / replayed:.0%})")
    finally:
        await delete_deployment_topics(settings)
        shutil.rmtree(scratch, ignore_errors=True)
    console.print(f"ratio router/raw loop:   {routed / raw:>10.2f}")
    console.print(f"ratio router/bare faust: {routed / bare:>10.2f}   ({events:,} events, {partitions} partitions, "
                  f"{os.cpu_count()} cores)")


def main(events: int = typer.Option(100_000, help="Questions to push through."),
         partitions: int = typer.Option(4, help="Partitions of the benchmark's topics."),
         parties: int = typer.Option(5000, help="Known parties that four in five questions come from: the fewer, "
                                     "the more each asks and the larger its state."),
         plumbing: bool = typer.Option(False, help="Also the router with its domain's work done beforehand "
                                       "(bench/router_replayed.py): what its plumbing alone costs."),
         without_rules: bool = typer.Option(False, help="Also the router with only its rules' work (classification "
                                            "included) done beforehand: the most a speed-up of the rules could "
                                            "give.")) -> None:
    asyncio.run(bench(events, partitions, parties, plumbing, without_rules))


if __name__ == "__main__":
    typer.run(main)
