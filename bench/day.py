"""A national day in a minute: a simulated day's contacts through the router, the case service and the norms.

    python bench/day.py [--contacts 300000] [--partitions 4] [--seed 7] [--routers 1] [--date 2026-12-02]

Needs the local stack (``loket stack up``). First, not timed: the simulator makes a day of Zeventerpen with about
``--contacts`` events on the contacts topic (its ``--rate`` found from two small trial days, its phone agents
scaled with it: ten per unit of rate, as its default day has), replayed on ``--date`` (by default the last weekday
before today: the same seed then gives the very same events in every run, and the day lies in the norms' 7- and
30-day windows), and writes them straight to the contacts topic through its ``--direct`` doors (the events the
intake would make of the requests, by the intake's code). The topics have a fresh prefix, and the case service a
fresh database, made and migrated as the tests' ``env`` fixture does (``services.case.app.migrate_database``).

Then the router (``--routers`` processes), the case service and the norms service start, one process each, as they
run in production (``python -m loket <service>``, JSON logs at info, into a scratch folder). The clock starts at the
first record consumed: the earlier of the first decision's CreateTime (the router stamps it as it hands over its
first batch's output, so one question's handling after it took its first records) and the first poll at which the
norms' reader group had committed anything. Start-up and joining the groups are told, not counted. The clock stops
when (a) every question has its decision (the decisions topic's end offsets, polled every 0.1 s), (b) every case
the router requested is in PostgreSQL (``count(*)`` of the cases, every 0.25 s), and (c) the norms count every
decision: their reader group has committed every decision (every 0.1 s), and their /metrics then confirm that
``loket_decisions_total`` counts them all (a scrape of the norms' /metrics computes every norm's figures and took
about half a second with a day in them, so it is not the poll). Told beside them, not stopping the clock: (d) the
norms have read every contact (their reader group's commits; the thermometer's figures of the day need it: with
two routers the norms counted every decision well before they had read every contact), and the outbox relay has
published every case's events.

Where the time goes: every process's time on a core and time waiting for one while it could run (Linux
/proc/PID/task/*/schedstat: the services, PostgreSQL's backends of the bench's database, the broker when
``loket stack`` started it, and this bench), sampled at every poll and given per stage and per contact. A
process that neither runs nor waits for a core waits for I/O: the broker, the database, or its input.

Target (issue 12): 300,000 contacts in at most 60 s on the project's 2-core machines. Absolute numbers depend on
the machine and its noise: what the rest of the machine used meanwhile is printed too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from intake import Server, free_port, machine_busy_seconds  # bench/ is the script's folder
from latency import broker_pid, metric_sum, schedstat

from loket import stack
from loket.simulator.command import AMSTERDAM, Options, Run, check_window, deliver, prepare
from plumbing.calendar import last_weekday
from plumbing.kafka import delete_deployment_topics, ensure_topics, group_id, reading_consumer, topic_name
from plumbing.settings import StackSettings, database_on_same_server
from schemas.topics import CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS, FIXED_TOPICS, TopicSpec
from services.case.app import migrate_database
from services.case.settings import CaseSettings
from services.intake.settings import IntakeSettings
from services.norms.app import READER_GROUP
from services.router.kafka import SERVICE as ROUTER

console = Console(soft_wrap=True, highlight=False)
#: Phone agents per unit of the simulator's rate: its default day has 10 at rate 1.
AGENTS_PER_RATE = 10
#: The two trial days' rates the day's rate is found from (its events grow linearly with the rate, beside a fixed
#: part: the counter's appointment book), and how far the day may be off the contacts asked before it is corrected.
TRIALS, TOLERANCE = (5.0, 15.0), 0.01
#: Seconds between polls: the topics' end offsets and the groups' committed offsets, PostgreSQL's count of cases.
KAFKA_POLL, DATABASE_POLL = 0.1, 0.25
#: Seconds between two scrapes of the norms' /metrics, should the first not count every decision yet.
SCRAPE_INTERVAL = 1.0
#: Seconds without any progress after which the bench gives up (a service stuck or gone wrong).
STALL_PATIENCE = 180.0
#: The stages whose end stops the clock, in the order they are told; and one told beside them: the norms' figures
#: of the contacts (the thermometer's) are whole only once they have read every contact too.
STAGES = {"decisions": "(a) every question decided", "cases": "(b) every case in PostgreSQL",
          "counted": "(c) every decision counted by the norms"}
BESIDE = {"contacts": "(d) every contact read by the norms"}
SERVICES_PORTS = {"router": "LOKET_ROUTER_PORT", "cases": "LOKET_CASE_PORT", "norms": "LOKET_NORMS_PORT"}


def simulated_day(contacts: int, seed: int, date: dt.date) -> Run:
    """The simulator's day with about ``contacts`` events: its rate found from two trial days, then corrected once
    if the day is more than ``TOLERANCE`` off."""
    began = dt.datetime.now(AMSTERDAM)

    def day(rate: float) -> Run:
        options = Options(seed=seed, agents=max(1, round(AGENTS_PER_RATE * rate)), rate=round(rate, 3), speed=None,
                          direct=True, date=date)
        with console.status(f"simulating the day at rate {options.rate:g}, {options.agents} agents…"):
            return prepare(options, began)

    low, high = (len(day(rate).day.posts) for rate in TRIALS)
    per_rate = (high - low) / (TRIALS[1] - TRIALS[0])
    rate = TRIALS[0] + (contacts - low) / per_rate
    run = day(rate)
    if abs(len(run.day.posts) - contacts) > TOLERANCE * contacts:
        run = day(rate + (contacts - len(run.day.posts)) / per_rate)
    return run


@dataclass
class Sample:
    """What a poll saw: when (``time.monotonic``), and each process's seconds on a core and waiting for one."""

    at: float
    ran: dict[str, float]
    waited: dict[str, float]


@dataclass
class Watch:
    """What the bench knows while the services work."""

    questions: int
    decisions: int = 0
    case_requests: int = 0
    dead_letters: int = 0
    cases: int = 0
    outbox_waiting: int | None = None
    read: dict[str, dict[TopicSpec, int]] = field(default_factory=dict)  # group: records committed, per topic
    counted: float = 0.0  # the norms' loket_decisions_total, once confirmed
    norms_began: float | None = None  # the first poll at which the norms' reader group had committed anything
    finished: dict[str, float] = field(default_factory=dict)  # stage: when (time.monotonic)
    samples: list[Sample] = field(default_factory=list)


class Processes:
    """The processes that take part: the services, PostgreSQL's backends of the bench's database (which come and
    go: each one's last figures are kept), the broker, this bench; and the machine as a whole."""

    def __init__(self, services: list[Server], database: str, postmaster: int | None, broker: int | None) -> None:
        self.services, self.database, self.postmaster, self.broker = services, database, postmaster, broker
        self.backends: dict[int, tuple[float, float]] = {}

    def sample(self, at: float) -> Sample:
        figures = {server.name: schedstat(server.process.pid) for server in self.services}
        if self.postmaster is not None:
            for pid in self._backends():
                self.backends[pid] = schedstat(pid)
            figures["postgres"] = (sum(ran for ran, _ in self.backends.values()),
                                   sum(waited for _, waited in self.backends.values()))
        if self.broker is not None:
            figures["kafka"] = schedstat(self.broker)
        figures["this bench"] = schedstat(os.getpid())
        ran = {name: ran for name, (ran, _) in figures.items()}
        ran["machine"] = machine_busy_seconds()
        return Sample(at, ran, {name: waited for name, (_, waited) in figures.items()})

    def _backends(self) -> list[int]:
        """PostgreSQL's backends serving the bench's database (their command line names it)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == self.postmaster and f" {self.database} ".encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue  # gone meanwhile
        return found


def start_service(name: str, label: str, env: dict[str, str], scratch: Path) -> Server:
    """``loket <name>`` in a process of its own, its HTTP server on a free port, its log in ``scratch``."""
    port = free_port()
    log = scratch / f"{label}.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "loket", name], env={**env, SERVICES_PORTS[name]: str(port)},
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return Server(label, process, f"http://127.0.0.1:{port}", log)


async def first_created(settings: CaseSettings) -> float:
    """The earliest CreateTime on the decisions topic, in seconds since the epoch: each partition's first record."""
    reader = reading_consumer(settings, None, [DECISIONS])
    await reader.start()
    try:
        ends = await reader.end_offsets(list(reader.assignment()))
        wanted = {tp for tp, end in ends.items() if end}
        stamps: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + 30
        while wanted - stamps.keys() and time.monotonic() < deadline:
            for tp, records in (await reader.getmany(timeout_ms=500, max_records=10)).items():
                stamps.setdefault(tp, records[0].timestamp)
        return min(stamps.values()) / 1000
    finally:
        await reader.stop()


class Offsets:
    """The records each topic holds, and what a group has committed of each, from one probe consumer and one admin
    client (neither takes anything from the services)."""

    def __init__(self, settings: CaseSettings, specs: list[TopicSpec]) -> None:
        self.settings = settings
        self.specs = {topic_name(settings, spec): spec for spec in specs}
        self.probe: AIOKafkaConsumer = reading_consumer(settings, None, specs)
        self.admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)

    async def start(self) -> None:
        await self.probe.start()
        await self.admin.start()

    async def stop(self) -> None:
        await self.probe.stop()
        await self.admin.close()

    async def held(self) -> dict[TopicSpec, int]:
        return self._per_topic(await self.probe.end_offsets(list(self.probe.assignment())))

    async def committed(self, service: str) -> dict[TopicSpec, int]:
        offsets = await self.admin.list_consumer_group_offsets(group_id(self.settings, service))
        return self._per_topic({tp: meta.offset for tp, meta in offsets.items() if meta.offset > 0})

    def _per_topic(self, offsets: dict[TopicPartition, int]) -> dict[TopicSpec, int]:
        per = dict.fromkeys(self.specs.values(), 0)
        for tp, offset in offsets.items():
            if tp.topic in self.specs:
                per[self.specs[tp.topic]] += offset
        return per


async def watch(settings: CaseSettings, services: list[Server], processes: Processes, contacts: int,
                questions: int) -> Watch:
    """Poll until the stages (and the norms' reading of every contact) are done, showing their progress; every
    process's time on a core and waiting for one at every poll."""
    offsets = Offsets(settings, [CONTACTS, DECISIONS, CASE_REQUESTS, DEAD_LETTERS])
    await offsets.start()
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    norms = next(server for server in services if server.name == "norms")
    state = Watch(questions)
    last_progress, last_seen, next_database, next_scrape = time.monotonic(), None, 0.0, 0.0
    columns = (TextColumn("{task.description:<36}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.completed:>9,.0f} / {task.fields[of]}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as bar:
            tasks = {"router": bar.add_task("contacts the router has committed", total=contacts, of=f"{contacts:,}"),
                     "decisions": bar.add_task("(a) decisions", total=questions, of=f"{questions:,}"),
                     "cases": bar.add_task("(b) cases in PostgreSQL", total=None, of="?"),
                     "norms": bar.add_task("contacts the norms have committed", total=contacts, of=f"{contacts:,}"),
                     "counted": bar.add_task("(c) decisions the norms have committed", total=questions,
                                             of=f"{questions:,}")}
            while not (STAGES.keys() | BESIDE.keys()) <= state.finished.keys():
                now = time.monotonic()
                for server in services:
                    if server.process.poll() is not None:
                        raise RuntimeError(f"{server.name} stopped (exit code {server.process.returncode}):\n"
                                           f"{server.log.read_text()[-3000:]}")
                held = await offsets.held()
                state.decisions, state.case_requests = held[DECISIONS], held[CASE_REQUESTS]
                state.dead_letters = held[DEAD_LETTERS]
                state.read = {service: await offsets.committed(service) for service in (ROUTER, READER_GROUP)}
                if state.decisions >= questions:
                    state.finished.setdefault("decisions", now)
                if state.norms_began is None and any(state.read[READER_GROUP].values()):
                    state.norms_began = now
                if state.read[READER_GROUP][CONTACTS] >= contacts:
                    state.finished.setdefault("contacts", now)
                if "decisions" in state.finished and "counted" not in state.finished and now >= next_scrape \
                        and state.read[READER_GROUP][DECISIONS] >= state.decisions:
                    next_scrape = now + SCRAPE_INTERVAL
                    # Committed is counted: confirm it.
                    state.counted = await metric_sum(norms.url, "loket_decisions_total")
                    if state.counted >= questions:
                        state.finished["counted"] = now
                if now >= next_database:
                    next_database = now + DATABASE_POLL
                    state.cases = await conn.fetchval("SELECT count(*) FROM cases")
                    if "decisions" in state.finished and state.cases >= state.case_requests:
                        state.finished.setdefault("cases", now)
                    if "cases" in state.finished and state.outbox_waiting != 0:
                        state.outbox_waiting = await conn.fetchval(
                            "SELECT count(*) FROM outbox WHERE published_at IS NULL")
                        if not state.outbox_waiting:
                            state.finished.setdefault("announced", now)
                state.samples.append(processes.sample(now))
                known = "decisions" in state.finished  # then the router has requested every case
                bar.update(tasks["router"], completed=state.read[ROUTER][CONTACTS])
                bar.update(tasks["decisions"], completed=state.decisions)
                bar.update(tasks["cases"], completed=state.cases, total=state.case_requests if known else None,
                           of=f"{state.case_requests:,}" if known else f"{state.case_requests:,} so far")
                bar.update(tasks["norms"], completed=state.read[READER_GROUP][CONTACTS])
                bar.update(tasks["counted"], completed=state.read[READER_GROUP][DECISIONS])
                seen = (state.decisions, state.cases, state.read, state.outbox_waiting)
                if seen != last_seen:
                    last_progress, last_seen = now, seen
                elif now - last_progress > STALL_PATIENCE:
                    raise RuntimeError(f"no progress for {STALL_PATIENCE:g} s")
                await asyncio.sleep(KAFKA_POLL)
        # The relay's last events, if they are not out yet: told beside the stages, not one of them.
        while state.outbox_waiting and time.monotonic() - state.finished["cases"] < 60:
            await asyncio.sleep(DATABASE_POLL)
            state.outbox_waiting = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            if not state.outbox_waiting:
                state.finished["announced"] = time.monotonic()
    finally:
        await conn.close()
        await offsets.stop()
    return state


def at(samples: list[Sample], moment: float, figure: str) -> dict[str, float]:
    """Each process's seconds on a core (``ran``) or waiting for one (``waited``) at ``moment``, interpolated
    between the polls around it."""
    before = max((s for s in samples if s.at <= moment), key=lambda s: s.at, default=samples[0])
    after = min((s for s in samples if s.at >= moment), key=lambda s: s.at, default=samples[-1])
    low, high = getattr(before, figure), getattr(after, figure)
    share = 0.0 if after.at == before.at else (moment - before.at) / (after.at - before.at)
    return {name: low[name] + share * (high.get(name, low[name]) - low[name]) for name in low}


def report(state: Watch, started: float, first: float, contacts: int, routers: int, partitions: int) -> None:
    """The stages' times from the first record consumed, and where the time went in each."""
    end = max(state.finished[name] for name in STAGES)
    last = max(state.finished[name] for name in {**STAGES, **BESIDE})  # the CPU is told up to here
    seconds = last - first
    console.print()
    console.print(f"{contacts:,} contacts ({state.questions:,} questions, {state.case_requests:,} case requests); "
                  f"{routers} router{'s' if routers > 1 else ''}, {partitions} partitions, {os.cpu_count()} cores")
    console.print(f"services started → first record consumed: {first - started:.1f} s (not counted)")
    for name, label in {**STAGES, **BESIDE}.items():
        console.print(f"{label:<42} {state.finished[name] - first:6.1f} s", markup=False)
    if "announced" in state.finished:
        console.print(f"{'    every case event published (outbox)':<42} {state.finished['announced'] - first:6.1f} s",
                      markup=False)
    console.print(f"total: {end - first:.1f} s from the first record consumed to the last of (a)-(c) "
                  f"({contacts / (end - first):,.0f} contacts/s); with (d) {seconds:.1f} s", style="bold")
    if state.dead_letters:
        console.print(f"[red]{state.dead_letters} dead letters[/red]")
    marks = [("first record", first)] + sorted(((label[:3], state.finished[name])
                                                for name, label in {**STAGES, **BESIDE}.items()),
                                               key=lambda mark: mark[1])
    spans = [(a, b) for a, b in zip(marks, marks[1:]) if b[1] - a[1] >= 1.0]  # stages apart by a second or more
    ran = [at(state.samples, moment, "ran") for _, moment in marks]
    waited_from, waited_to = at(state.samples, first, "waited"), at(state.samples, last, "waited")
    ran_from, ran_to = ran[0], ran[-1]
    console.print()
    console.print("| process, first record → last of (a)-(d) | on a core, s | share of one core | waiting for a core "
                  "| µs a contact | " + " | ".join(f"{a} → {b}" for (a, _), (b, _) in spans) + " |", markup=False)
    console.print("|---|---|---|---|---|" + "---|" * len(spans), markup=False)
    for process in ran_from:
        used = ran_to[process] - ran_from[process]
        waits = f"{(waited_to[process] - waited_from[process]) / seconds:.0%}" if process in waited_from else "–"
        cells = []
        for (_, t0), (_, t1) in spans:
            c0, c1 = at(state.samples, t0, "ran"), at(state.samples, t1, "ran")
            cells.append(f"{(c1[process] - c0[process]) / (t1 - t0):.0%}")
        label = "the machine, every process" if process == "machine" else process
        console.print(f"| {label} | {used:.1f} | {used / seconds:.0%} | {waits} | {1e6 * used / contacts:.0f} | "
                      + " | ".join(cells) + " |", markup=False)
    known = sum(ran_to[p] - ran_from[p] for p in ran_from if p != "machine")
    rest = max(0.0, ran_to["machine"] - ran_from["machine"] - known)  # the polls' interpolation can dip below 0
    console.print(f"the rest of the machine (other work): {rest:.1f} CPU s, {rest / seconds:.1f} cores on average")


async def bench(contacts: int, partitions: int, seed: int, routers: int, date: dt.date) -> None:
    if routers > partitions:
        raise typer.BadParameter(f"{routers} routers need at least as many partitions, not {partitions}")
    tag = uuid.uuid4().hex[:8]
    prefix, database = f"bench{tag}.", f"bench_{tag}_day"
    admin_url = CaseSettings().database_url.get_secret_value()
    settings = CaseSettings(topic_prefix=prefix, topic_partitions=partitions,
                            database_url=database_on_same_server(admin_url, database))
    here = Path(__file__).resolve().parent
    scratch = Path(tempfile.mkdtemp(prefix="loket-bench-"))
    # The services run this checkout's code (the one the bench is in), whatever the virtualenv points at.
    path = os.pathsep.join(filter(None, [str(here.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "LOKET_TOPIC_PREFIX": prefix, "LOKET_TOPIC_PARTITIONS": str(partitions),
           "LOKET_DATABASE_URL": settings.database_url.get_secret_value(), "LOKET_LOG_FORMAT": "json",
           "LOKET_LOG_LEVEL": "info", "LOKET_STATE_DIR": str(scratch / "state")}
    services: list[Server] = []
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        await migrate_database(settings)
        await ensure_topics(settings, FIXED_TOPICS)
        run = simulated_day(contacts, seed, date)
        intake = IntakeSettings(topic_prefix=prefix, topic_partitions=partitions)
        check_window(run.day, dt.datetime.now(AMSTERDAM), intake)
        console.print(f"{run.title}: {len(run.day.posts):,} contacts")
        began = time.monotonic()
        sent = await deliver(run.day, run.timeline, intake, console, direct=True)
        if not sent.ok:
            raise RuntimeError(f"the simulator's events were refused: {sent.reasons}")
        total, questions = sum(sent.taken.values()), sent.taken["questions"]
        console.print(f"written to the contacts topic in {time.monotonic() - began:.1f} s (not counted): "
                      f"{total:,} contacts, {questions:,} of them questions")
        postgres = (await stack.status(StackSettings())).postgres
        started = time.monotonic()
        services = [start_service("router", f"router-{n + 1}" if routers > 1 else "router", env, scratch)
                    for n in range(routers)]
        services += [start_service("cases", "cases", env, scratch), start_service("norms", "norms", env, scratch)]
        processes = Processes(services, database, postgres.pid if postgres.running and postgres.ours else None,
                              await broker_pid())
        state = await watch(settings, services, processes, total, questions)
        offset = time.time() - time.monotonic()
        first = min(filter(None, [await first_created(settings) - offset, state.norms_began]))
        report(state, started, first, total, routers, partitions)
    finally:
        for server in services:
            server.process.terminate()
        for server in services:
            try:
                server.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
        await delete_deployment_topics(settings)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        shutil.rmtree(scratch, ignore_errors=True)


def main(contacts: int = typer.Option(300_000, help="Contacts (events on the contacts topic) of the simulated day."),
         partitions: int = typer.Option(4, help="Partitions of the benchmark's topics."),
         seed: int = typer.Option(7, help="The simulator's seed: the same seed, the same day."),
         routers: int = typer.Option(1, help="Router processes (at most one per partition)."),
         date: str = typer.Option("", help="The simulated day, replayed (default: the last weekday before today).")
         ) -> None:
    asyncio.run(bench(contacts, partitions, seed, routers, dt.date.fromisoformat(date) if date else last_weekday()))


if __name__ == "__main__":
    typer.run(main)
