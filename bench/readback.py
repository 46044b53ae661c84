"""How long a router takes to read its party state back when it is assigned partitions: 1,000,000 parties.

    python bench/readback.py [--parties 1000000] [--partitions 12]

Needs the local stack (``loket stack up``). Writes one stored state per party (one handled question, as after a
first contact, in the router's own encoding and with the header naming its input, as the router writes them) to
a compacted changelog of a throwaway deployment, then reads it back as a router does on assignment
(``plumbing.changelog.read_changelog_into`` a ``PartitionedState``'s loading, whose keys live in SQLite): all
partitions, as a single router after a restart or after any rebalance that revokes everything; and one partition
of them, as a process that is given one partition more.
The baseline in the same run is a plain aiokafka read of the same records that keeps nothing. Prints seconds,
records/s and the ratio, and the resident size the read-back added.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import time
import uuid

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.progress import Progress

from memory import resident_bytes  # bench/ is the script's folder

from plumbing.changelog import INPUT_HEADER, PartitionedState, read_changelog_into
from plumbing.ids import uuid5
from plumbing.kafka import InternalTopic, Record, delete_deployment_topics, ensure_topics, send_all
from plumbing.settings import KafkaSettings
from services.router.domain.state import Handled, PartyState

console = Console()
NAMESPACE = uuid.UUID("6f1c3a52-8f0e-4a57-9d55-0a4b6f0c2e11")
SUBJECTS = ("paspoort-id", "container-kapot", "grofvuil", "parkeervergunning", "klacht", "afvalpas")
CHUNK = 20_000


def state_of(n: int, now: dt.datetime) -> bytes:
    """A party's state after one question: answered, or escalated with its case id and due date."""
    escalated = n % 3 == 0
    handled = Handled(question_key=uuid5(NAMESPACE, f"q{n}"), subject_code=SUBJECTS[n % len(SUBJECTS)],
                      received_at=now - dt.timedelta(seconds=n % 86_400),
                      outcome="escalated" if escalated else "answered",
                      case_id=uuid5(NAMESPACE, f"c{n}") if escalated else None,
                      due_date=(now + dt.timedelta(days=14)).date() if escalated else None)
    return PartyState(handled=(handled,)).to_bytes()


async def write_states(settings: KafkaSettings, topic: str, parties: int, partitions: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20,
                                max_batch_size=262_144)
    await producer.start()
    now = dt.datetime.now(dt.timezone.utc)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"writing {parties:,} party states", total=parties)
            for start in range(0, parties, CHUNK):
                records = []
                for n in range(start, min(start + CHUNK, parties)):
                    partition = n % partitions
                    position = f"contacts:{partition}:{n}".encode()  # the input whose handling wrote it
                    records.append(Record(topic, f"{n:064x}".encode(), state_of(n, now), partition,
                                          ((INPUT_HEADER, position),)))
                await send_all(producer, records)
                progress.update(task, advance=len(records))
    finally:
        await producer.stop()


async def plain_read(settings: KafkaSettings, partitions: list[TopicPartition]) -> tuple[float, int]:
    """Seconds to fetch every record of the partitions with aiokafka, keeping nothing: the floor."""
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        started, count = time.perf_counter(), 0
        pending = set(partitions)
        while pending:
            for batch in (await reader.getmany(*pending, timeout_ms=1000, max_records=10_000)).values():
                count += len(batch)
            pending = {tp for tp in pending if await reader.position(tp) < ends[tp]}
        return time.perf_counter() - started, count
    finally:
        await reader.stop()


async def read_back(settings: KafkaSettings, partitions: list[TopicPartition]) -> tuple[float, int, int]:
    """Seconds, keys and resident bytes added by reading the partitions back as the router does."""
    reader = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                              auto_offset_reset="none")
    await reader.start()
    try:
        gc.collect()
        before = resident_bytes()
        committed = {("contacts", tp.partition): 2**62 for tp in partitions}  # every input committed
        started = time.perf_counter()
        state = PartitionedState(partitions[0].topic)
        loading = state.loading(tp.partition for tp in partitions)
        await read_changelog_into(reader, partitions, committed, loading.apply)
        state.install(loading)
        seconds = time.perf_counter() - started
        gc.collect()
        return seconds, state.size()[0], resident_bytes() - before
    finally:
        await reader.stop()


async def bench(parties: int, partitions: int) -> None:
    settings = KafkaSettings(topic_prefix=f"bench{uuid.uuid4().hex[:8]}.", topic_partitions=partitions)
    changelog = InternalTopic(f"{settings.topic_prefix}loket-router-party-state-changelog", compacted=True)
    await ensure_topics(settings, [], internal=[changelog])
    try:
        await write_states(settings, changelog.name, parties, partitions)
        every = [TopicPartition(changelog.name, p) for p in range(partitions)]
        floor, count = await plain_read(settings, every)
        console.print(f"plain aiokafka read, keeping nothing: {floor:6.1f} s  {count / floor:>9,.0f} records/s")
        seconds, keys, grown = await read_back(settings, every)
        assert keys == parties, f"read back {keys:,} keys of {parties:,}"
        console.print(f"read-back, all {partitions} partitions:   {seconds:6.1f} s  {keys / seconds:>9,.0f} keys/s  "
                      f"(+{grown / 2**20:,.0f} MB resident)")
        console.print(f"read-back / plain read: {floor / seconds:.2f}")
        one, keys_one, _ = await read_back(settings, every[:1])
        console.print(f"read-back, one partition of {partitions}:   {one:6.1f} s  {keys_one / one:>9,.0f} keys/s  "
                      f"({keys_one:,} parties)")
    finally:
        await delete_deployment_topics(settings)


def main(parties: int = typer.Option(1_000_000, help="Parties, one stored state each."),
         partitions: int = typer.Option(12, help="Partitions of the changelog (the national plan has 12).")) -> None:
    asyncio.run(bench(parties, partitions))


if __name__ == "__main__":
    typer.run(main)
