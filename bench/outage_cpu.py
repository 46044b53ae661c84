"""CPU and aiokafka log lines of Kafka clients while the broker is away, each client in a process of its own.

    python bench/outage_cpu.py [--seconds 60]

Starts a broker of its own in a scratch folder (removed after); each client stops it, measures, and starts it
again. ``sending`` holds a batch as the router does (``Sender.send_once`` retried by ``until_it_works``);
``probing`` asks the broker every second before a retry, so that nothing waits in the producer while it is
away. Prints CPU seconds per second of outage and aiokafka records per second, in all and once the records a
producer held when the broker left have expired; and the ratios of ``sending`` to the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import typer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console

from loket import stack
from loket.stack import kafka as broker
from plumbing.health import broker_unreachable
from plumbing.kafka import Record, start_producer, stop_client
from plumbing.logging import configure_logging
from plumbing.outage import Outage
from plumbing.processor import Sender
from plumbing.retry import broker_away, until_it_works
from plumbing.settings import StackSettings

console = Console(width=120)
REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ("sending", "probing", "idle", "group", "reader")
PARTITIONS = 2
#: Seconds between two questions to the broker while it is away, before a batch is handed to the producer.
PROBE_PAUSE = 1.0
#: Seconds after which the records a producer held when the broker left have expired: its request timeout
#: (``make_producer``) and a second.
EXPIRED = 31.0
#: Seconds the clients get after the broker is back: the retry's backoff may be at its cap of 30 s.
RECOVERY_LIMIT = 90.0


class LineCounter(logging.Handler):
    """Counts the records aiokafka's loggers emit at the level the services let through."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class Client:
    """What a scenario started: clients to stop, tasks to cancel, and when its batches last went through."""

    stoppable: list[Callable[[], AIOKafkaProducer | AIOKafkaConsumer]] = field(default_factory=list)
    tasks: list[asyncio.Task] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    producer: Callable[[], AIOKafkaProducer] | None = None


async def start_sending(settings: StackSettings, topic: str, probe: bool) -> Client:
    client = Client()
    sender = Sender(await start_producer(settings), renew=lambda: start_producer(settings))
    client.producer = lambda: sender.producer
    outage, stopping = Outage("broker"), asyncio.Event()
    batch = [Record(topic, f"k{i}".encode(), b"v" * 200) for i in range(50)]

    async def probe_then_send() -> None:  # the proposal: nothing waits in the producer while the broker is away
        while outage.away and await broker_unreachable(sender.producer.client):
            await asyncio.sleep(PROBE_PAUSE)
        await sender.send_once(batch)

    async def keep_sending() -> None:
        while True:
            attempt = probe_then_send if probe else lambda: sender.send_once(batch)
            await until_it_works(attempt, outage=outage, stopping=stopping, retry_on=broker_away)
            client.sent_at.append(time.monotonic())
            await asyncio.sleep(0.2)

    await sender.send_once(batch)
    client.tasks.append(asyncio.create_task(keep_sending()))
    await asyncio.sleep(1)
    client.stoppable.append(lambda: sender.producer)
    return client


async def start_idle(settings: StackSettings, topic: str) -> Client:
    producer = await start_producer(settings)
    await producer.send_and_wait(topic, b"v", key=b"k")
    return Client(stoppable=[lambda: producer], producer=lambda: producer)


async def start_consumer(settings: StackSettings, topic: str, grouped: bool) -> Client:
    if grouped:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap, group_id=f"g-{topic}",
                                    enable_auto_commit=False, auto_offset_reset="earliest")
    else:  # the router's group-less reader: started, nothing assigned until a partition is handed over
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                                    auto_offset_reset="none")
    await consumer.start()

    async def poll() -> None:
        while grouped:
            await consumer.getmany(timeout_ms=500)

    client = Client(stoppable=[lambda: consumer], tasks=[asyncio.create_task(poll())])
    await asyncio.sleep(5)  # joined its group
    return client


def starter(scenario: str) -> Callable[[StackSettings, str], Awaitable[Client]]:
    return {
        "sending": lambda s, t: start_sending(s, t, probe=False),
        "probing": lambda s, t: start_sending(s, t, probe=True),
        "idle": start_idle,
        "group": lambda s, t: start_consumer(s, t, grouped=True),
        "reader": lambda s, t: start_consumer(s, t, grouped=False),
    }[scenario]


async def child(scenario: str, settings: StackSettings, seconds: float) -> dict[str, object]:
    """One client through one outage of ``seconds``, measured in this process."""
    configure_logging("info")
    counter = LineCounter()
    logging.getLogger("aiokafka").addHandler(counter)
    topic = f"outage-cpu-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    await admin.close()
    client = await starter(scenario)(settings, topic)

    await _stop_broker(settings, client)
    start = (time.process_time(), counter.count, time.monotonic())
    await asyncio.sleep(min(EXPIRED, seconds / 2))
    middle = (time.process_time(), counter.count, time.monotonic())
    await asyncio.sleep(seconds - min(EXPIRED, seconds / 2))
    end = (time.process_time(), counter.count, time.monotonic())
    leaderless = client.producer is not None and any(
        client.producer().client.cluster.leader_for_partition(TopicPartition(topic, p)) in (None, -1)
        for p in range(PARTITIONS))

    await broker.ensure_running(settings)
    recovered = await _recovery(client, time.monotonic())
    for task in client.tasks:
        task.cancel()
    await asyncio.gather(*client.tasks, return_exceptions=True)
    for stoppable in client.stoppable:
        await stop_client(stoppable(), 5.0)
    return {"scenario": scenario, "all": _rates(start, end), "expired": _rates(middle, end), "leaderless": leaderless,
            "recovered": recovered}


def _rates(since: tuple[float, int, float], until: tuple[float, int, float]) -> tuple[float, float]:
    """CPU seconds per second and aiokafka lines per second between two samples."""
    wall = until[2] - since[2]
    return (until[0] - since[0]) / wall, (until[1] - since[1]) / wall


async def _stop_broker(settings: StackSettings, client: Client) -> None:
    """Stop the broker while the clients run on. A producer asks for metadata meanwhile, as aiokafka does after
    an error: whether one of its requests happens to fail during the shutdown is a race, which the router lost
    (the broker said the partitions had no leader while it shut down, and so it stays, in the producer's eyes)."""
    stopping = asyncio.ensure_future(asyncio.to_thread(broker.stop, settings))
    while client.producer is not None and not stopping.done():
        await asyncio.wait({stopping, client.producer().client.force_metadata_update()}, timeout=0.05)
    await stopping


async def _recovery(client: Client, back: float) -> float | None:
    """Seconds from the broker's return to the scenario's next batch through, for scenarios that send."""
    if client.producer is None or not client.tasks:
        return None
    while time.monotonic() - back < RECOVERY_LIMIT:
        if client.sent_at and client.sent_at[-1] > back:
            return client.sent_at[-1] - back
        await asyncio.sleep(0.05)
    return None


def run_child(scenario: str, settings: StackSettings, seconds: float) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", scenario, "--state", str(settings.state_dir),
               "--bootstrap", settings.kafka_bootstrap, "--seconds", str(seconds)]
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: dict[str, dict[str, object]], seconds: float) -> None:
    console.print(f"{'':<8} {'CPU s/s':>8} {'lines/s':>9} | once expired: {'CPU s/s':>8} {'lines/s':>9}")
    for name, r in results.items():
        (cpu, lines), (cpu_then, lines_then) = r["all"], r["expired"]
        recovered = "" if r["recovered"] is None else f"  back in {r['recovered']:.1f} s"
        leaderless = "  (leaderless)" if r["leaderless"] else ""
        console.print(f"{name:<8} {cpu:>8.3f} {lines:>9,.1f} | {'':>13} {cpu_then:>8.3f} {lines_then:>9,.1f}"
                      f"{recovered}{leaderless}")
    for other in ("probing", "group"):
        console.print(f"ratio sending/{other:<8}" + "".join(
            f"  {label} CPU {_ratio(results, other, label, 0):>7.1f}, lines {_ratio(results, other, label, 1):>7.1f}"
            for label in ("all", "expired")))
    console.print(f"({seconds:.0f} s of outage per client, the last {seconds - min(EXPIRED, seconds / 2):.0f} s "
                  f"once expired; a floor of 1 ms/s CPU and 0.1 lines/s under the ratios)")


def _ratio(results: dict[str, dict[str, object]], other: str, label: str, index: int) -> float:
    floor = (1e-3, 0.1)[index]
    return results["sending"][label][index] / max(results[other][label][index], floor)


def main(seconds: float = typer.Option(60.0, help="Seconds each client spends with the broker away."),
         child_scenario: str = typer.Option("", "--child", hidden=True),
         state: str = typer.Option("", hidden=True), bootstrap: str = typer.Option("", hidden=True)) -> None:
    if child_scenario:
        settings = StackSettings(kafka_bootstrap=bootstrap, state_dir=Path(state))
        print(json.dumps(asyncio.run(child(child_scenario, settings, seconds))))
        return
    scratch = Path(tempfile.mkdtemp(prefix="loket-outage-cpu-"))
    scratch.chmod(0o755)
    sys.path.insert(0, str(REPO))  # a stack of its own, on ports as the tests pick them
    from tests.realstack import stack_settings_in

    settings = stack_settings_in(scratch)
    try:
        asyncio.run(broker.ensure_running(settings))
        report({name: run_child(name, settings, seconds) for name in SCENARIOS}, seconds)
    finally:
        stack.down(settings, only=("kafka",))
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    typer.run(main)
