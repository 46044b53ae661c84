"""Latency from a question sent to the intake to its routing decision on the decisions topic, at fixed rates.

    python bench/latency.py [--rates 100,500,1000] [--seconds 20] [--warmup 3] [--partitions 4]

Needs the local stack (``loket stack up``). Runs ``loket intake`` and ``loket router`` as processes of their own
on fresh, prefixed topics (as bench/intake.py starts the intake: this checkout's code, log level warning), and loads
the intake with bench/open_loop.py's open-loop client in a process of its own, traced (``--trace``): the
simulator's phone questions (``loket.simulator.QUESTIONS``, seeded; four in five from one of a thousand citizens
known by BSN, so the router's per-party state and its ask-once links are exercised), each with the telephony
system's token and its own Idempotency-Key, sent on a fixed schedule and timed from when each was due (a stall is
charged to every request queued behind it).

Each request is matched to its decision by the question event's id: the intake's 202 answer carries it
(``event_id``), the router's decision names it (``data.question_id``). A decision's time is when a reader in this
process (a group-less consumer of the decisions topic, from its start) received it, on the same clock as the
client's schedule (``time.perf_counter``: CLOCK_MONOTONIC, the machine's, the same in every process). Not the
record's timestamp: aiokafka stamps a record (CreateTime) as the router's producer appends it to a batch, before
the batch is sent and the broker has it, so it leaves out the last step before anyone can read the decision,
and it has only millisecond resolution. The reader sees what a downstream service sees, and adds only its own
fetch (the broker answers a waiting fetch as soon as a record is appended). The CreateTime figure is printed
beside it as a check: the difference is the router's send and the reader's fetch.

Printed per rate: the intake's own latency (due → 202) and the decision's (due → decision read), p50, p99, p999
and max; the decision less the 202 per request (the router's share: the question is on the contacts topic
before its 202 goes out); the CPU of the intake, the router, the broker and the client, and the share of the time
the intake and the router waited for a core while they could run (/proc/PID/task/*/schedstat: the price of
sharing two cores); the router's batches a second and their mean time from records in hand to offsets committed
(its ``loket_batch_duration_seconds``); and what the rest of the machine kept busy (other work on a shared
machine shows there, and this bench's reader). Issue 12's goal: p99 ≤ 50 ms at 1,000/s. Absolute numbers depend
on the machine and its noise.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from intake import Server, free_port, machine_busy_seconds, start, wait_ready  # bench/ is the script's folder
from open_loop import summary

from loket import stack
from plumbing.kafka import delete_deployment_topics, ensure_topics, open_reader
from plumbing.settings import StackSettings
from schemas.topics import DECISIONS, FIXED_TOPICS
from services.intake.auth import ChannelSystem
from services.intake.settings import IntakeSettings

console = Console(soft_wrap=True, highlight=False)
HERE = Path(__file__).resolve().parent
#: Issue 12's goal: p99 from request (when it was due) to decision, at 1,000 questions/s.
P99_GOAL, GOAL_RATE = 0.050, 1000.0
#: Seconds after the client's last answer that the decisions of its 202s may take to be read.
DECISION_PATIENCE = 60.0
#: Cores the rest of the machine (beyond the intake, router, broker and client) may keep busy before a rate is
#: said to measure the neighbour too; the broker's own share is counted apart when ``loket stack`` started it.
BUSY_NEIGHBOUR = 0.3


def schedstat(pid: int | None) -> tuple[float, float]:
    """Seconds a process's threads have run on a core so far, and waited for one while they could run (Linux
    /proc/PID/task/*/schedstat); 0 and 0 when it is not known or gone. The second is the price of a busy machine:
    time a process wanted a core and did not get one."""
    ran = waited = 0
    if pid is None:
        return 0.0, 0.0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0.0, 0.0
    for task in tasks:
        try:
            on, queued, _ = (task / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue  # a thread that ended meanwhile
        ran, waited = ran + int(on), waited + int(queued)
    return ran / 1e9, waited / 1e9


async def broker_pid() -> int | None:
    """The local stack's Kafka broker process, when ``loket stack`` started it (else its CPU is not told)."""
    kafka = (await stack.status(StackSettings())).kafka
    return kafka.pid if kafka.running and kafka.ours else None


def start_router(env: dict[str, str], scratch: Path) -> Server:
    """``loket router`` in a process of its own, its health and metrics on a free port."""
    port = free_port()
    log = scratch / "router.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "loket", "router"],
                                   env={**env, "LOKET_ROUTER_PORT": str(port)}, stdout=out, stderr=out,
                                   start_new_session=True)
    return Server("router", process, f"http://127.0.0.1:{port}", log)


class DecisionReader:
    """Reads the decisions topic from its start and notes, per question id, when its decision was read (on
    ``time.perf_counter``) and the record's CreateTime (milliseconds since the epoch)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.seen: dict[str, tuple[float, int]] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    question = json.loads(record.value)["data"]["question_id"]
                    self.seen.setdefault(question, (now, record.timestamp))

    async def wait_for(self, questions: list[str], patience: float) -> int:
        """Wait (polling every 0.1 s) until every question's decision was read, at most ``patience`` seconds;
        returns how many are still missing."""
        deadline = time.monotonic() + patience
        while True:
            if self.task.done():
                self.task.result()  # the reader failed: say why
            missing = sum(1 for q in questions if q not in self.seen)
            if not missing or time.monotonic() > deadline:
                return missing
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.consumer.stop()


@dataclass(frozen=True)
class Phase:
    """One rate: the client's report, each answered request's latencies, and the CPU used meanwhile."""

    rate: float
    report: dict
    intake: list[float]  # due → 202
    decision: list[float]  # due → decision read
    created: list[float]  # due → decision's CreateTime
    router_share: list[float]  # 202 → decision read
    missing: int  # 202s whose decision was not read within the patience
    cpu: dict[str, float]  # share of one core while the client ran: intake, router, broker, client
    waited: dict[str, float]  # share of the time the intake, router and broker waited for a core
    others: float  # cores the rest of the machine kept busy
    batches: tuple[float, float]  # the router's batches a second, and a batch's mean seconds from records to commit

    def ms(self, values: str, figure: str) -> float:
        return summary(getattr(self, values))[figure] * 1000

    @property
    def failures(self) -> int:
        return self.report["requests"] - self.report["statuses"].get("202", 0) + self.missing


async def metric_sum(url: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples named ``name`` with these labels on a service's /metrics."""
    async with httpx.AsyncClient(timeout=30) as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


async def batches(router: Server) -> tuple[float, float]:
    """The router's batches so far, and their seconds in all: ``loket_batch_duration_seconds`` (from a batch's
    records in hand to its offsets committed)."""
    return (await metric_sum(router.url, "loket_batch_duration_seconds_count", service="router"),
            await metric_sum(router.url, "loket_batch_duration_seconds_sum", service="router"))


async def load(intake: Server, router: Server, broker: int | None, decisions: DecisionReader, rate: float,
               seconds: float, warmup: float, token: str) -> Phase:
    """The traced open-loop client against the intake at ``rate``; then every 202's decision, waited for."""
    pids = {"intake": intake.process.pid, "router": router.process.pid, "broker": broker}
    batched = await batches(router)
    before = {name: schedstat(pid) for name, pid in pids.items()}
    children, busy, began = resource.getrusage(resource.RUSAGE_CHILDREN), machine_busy_seconds(), time.monotonic()
    client = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "open_loop.py"), f"{intake.url}/v1/questions", "--rate", str(rate),
        "--seconds", str(seconds), "--warmup", str(warmup), "--token", token, "--trace", stdout=subprocess.PIPE)
    out, _ = await client.communicate()
    if client.returncode:
        raise RuntimeError(f"the load client failed (exit code {client.returncode})")
    elapsed = time.monotonic() - began
    count, spent = (now - then for now, then in zip(await batches(router), batched))
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = {name: schedstat(pid) for name, pid in pids.items()}
    cpu = {name: (after[name][0] - before[name][0]) / elapsed for name in pids}
    waited = {name: (after[name][1] - before[name][1]) / elapsed for name in pids}
    cpu["client"] = (used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime) / elapsed
    others = max(0.0, (machine_busy_seconds() - busy) / elapsed - sum(cpu.values()))
    report = json.loads(out)
    accepted = [(due, answered, event) for due, answered, status, event in report.pop("trace") if status == 202]
    missing = await decisions.wait_for([event for _, _, event in accepted], DECISION_PATIENCE)
    offset = report["clock_offset"]  # wall clock − perf_counter, to put CreateTime on the client's clock
    intake_latency, decision, created, share = [], [], [], []
    for due, answered, event in accepted:
        intake_latency.append(answered - due)
        if event in decisions.seen:
            read, stamp = decisions.seen[event]
            decision.append(read - due)
            created.append(stamp / 1000 - offset - due)
            share.append(read - answered)
    return Phase(rate, report, intake_latency, decision, created, share, missing, cpu, waited, others,
                 (count / elapsed, spent / count if count else 0.0))


def show(phase: Phase) -> None:
    notes = [f"{count}× {status or 'broken connection'}" for status, count in phase.report["statuses"].items()
             if status != "202"]
    notes += [f"{phase.report[k]} {k}" for k in ("unanswered", "retried") if phase.report[k]]
    if phase.missing:
        notes.append(f"{phase.missing} decisions not read within {DECISION_PATIENCE:g} s")
    if phase.others > BUSY_NEIGHBOUR:
        notes.append("the rest of the machine was busy: this rate measures the neighbour too")
    console.print(f"{phase.rate:>6,.0f}/s  202 p50 {phase.ms('intake', 'p50'):5.1f} "
                  f"p99 {phase.ms('intake', 'p99'):6.1f}  decision p50 {phase.ms('decision', 'p50'):5.1f} "
                  f"p99 {phase.ms('decision', 'p99'):6.1f} "
                  f"p999 {phase.ms('decision', 'p999'):6.1f} max {phase.ms('decision', 'max'):6.1f} ms"
                  f"  cpu intake {phase.cpu['intake']:3.0%} router {phase.cpu['router']:3.0%} "
                  f"broker {phase.cpu['broker']:3.0%} client {phase.cpu['client']:3.0%}  waiting for a core: intake "
                  f"{phase.waited['intake']:3.0%} router {phase.waited['router']:3.0%}  router batches "
                  f"{phase.batches[0]:.0f}/s of {phase.batches[1] * 1000:.1f} ms  rest {phase.others:.1f} cores"
                  + (f"  ({'; '.join(notes)})" if notes else ""), markup=False)


def table(phases: list[Phase]) -> list[str]:
    """The rates as a Markdown table, milliseconds."""
    rows = ["| rate | 202 p50 / p99 / p999 / max | decision p50 / p99 / p999 / max | decision − 202 p50 / p99 "
            "| by CreateTime p50 / p99 | cpu intake / router / broker | waiting for a core: intake / router "
            "| router batches | client lag p99 | rest of machine |", "|---|---|---|---|---|---|---|---|---|---|"]
    for p in phases:
        four = [" / ".join(f"{p.ms(values, f):.1f}" for f in ("p50", "p99", "p999", "max"))
                for values in ("intake", "decision")]
        rows.append(f"| {p.rate:,.0f}/s | {four[0]} | {four[1]}{' ✗' if p.failures else ''} "
                    f"| {p.ms('router_share', 'p50'):.1f} / {p.ms('router_share', 'p99'):.1f} "
                    f"| {p.ms('created', 'p50'):.1f} / {p.ms('created', 'p99'):.1f} "
                    f"| {p.cpu['intake']:.0%} / {p.cpu['router']:.0%} / {p.cpu['broker']:.0%} "
                    f"| {p.waited['intake']:.0%} / {p.waited['router']:.0%} "
                    f"| {p.batches[0]:.0f}/s, {p.batches[1] * 1000:.1f} ms "
                    f"| {p.report['lag']['p99'] * 1000:.1f} | {p.others:.1f} cores |")
    return rows


async def bench(rates: list[float], seconds: float, warmup: float, partitions: int) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = IntakeSettings(topic_prefix=prefix, topic_partitions=partitions)
    token = settings.token(ChannelSystem.TELEPHONY)
    # The services run this checkout's code (the one the bench is in), whatever the virtualenv points at.
    path = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "LOKET_TOPIC_PREFIX": prefix, "LOKET_TOPIC_PARTITIONS": str(partitions),
           "LOKET_LOG_LEVEL": "warning"}
    env.pop("LOKET_INTAKE_SMTP_PORT", None)
    await ensure_topics(settings, FIXED_TOPICS)
    broker = await broker_pid()
    servers: list[Server] = []
    phases: list[Phase] = []
    decisions: DecisionReader | None = None
    with tempfile.TemporaryDirectory(prefix="loket-bench-") as scratch:
        try:
            servers = [start("intake", [sys.executable, "-m", "loket", "intake"], env, Path(scratch)),
                       start_router(env, Path(scratch))]
            intake, router = servers
            decisions = DecisionReader(await open_reader(settings, DECISIONS))
            with console.status("starting the intake and the router…"):
                for server in servers:
                    await wait_ready(server)
            began = time.monotonic()
            with console.status("first questions: imports, caches, connections, the router's group…"):
                first = await load(intake, router, broker, decisions, 200, 3, 0, token)
            console.print(f"warm-up: {first.report['requests']} questions at 200/s, every decision read "
                          f"{time.monotonic() - began:.1f} s after the client started"
                          + (f" ({first.missing} missing)" if first.missing else ""))
            for rate in rates:
                with console.status(f"{rate:,.0f} questions/s…"):
                    phases.append(await load(intake, router, broker, decisions, rate, seconds, warmup, token))
                show(phases[-1])
        finally:
            if decisions is not None:
                await decisions.stop()
            for server in servers:
                server.process.terminate()
            for server in servers:
                server.process.wait(timeout=30)
            await delete_deployment_topics(settings)
    report(phases, seconds, partitions)


def report(phases: list[Phase], seconds: float, partitions: int) -> None:
    console.print()
    for row in table(phases):
        console.print(row, markup=False)
    console.print(f"(ms; {seconds:g} s measured per rate after its warm-up; {partitions} partitions, "
                  f"{os.cpu_count()} cores; cpu is the share of one core while the client ran)")
    for p in phases:
        if p.failures:
            console.print(f"{p.rate:,.0f}/s: {p.failures} requests without a 202 or without a decision read",
                          markup=False)
    at_goal = [p for p in phases if p.rate == GOAL_RATE]
    if at_goal:
        p99 = at_goal[0].ms("decision", "p99")
        met = p99 <= P99_GOAL * 1000 and not at_goal[0].failures
        console.print(f"issue 12's goal, p99 ≤ {P99_GOAL * 1000:.0f} ms from request to decision at "
                      f"{GOAL_RATE:,.0f}/s: {'met' if met else 'not met'} ({p99:.1f} ms)")


def main(rates: str = typer.Option("100,500,1000", help="Questions/s, comma separated, one phase each."),
         seconds: float = typer.Option(20.0, help="Measured seconds per rate."),
         warmup: float = typer.Option(3.0, help="Seconds at each rate before it is measured."),
         partitions: int = typer.Option(4, help="Partitions of the benchmark's topics.")) -> None:
    asyncio.run(bench([float(r) for r in rates.split(",")], seconds, warmup, partitions))


if __name__ == "__main__":
    typer.run(main)
