"""``loket demo``: the stack, all services, a simulated hour of Zeventerpen through the intake, how its questions
were decided, and where to look."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from loket import stack
from loket.simulator.command import AMSTERDAM, Options, deliver, prepare
from loket.simulator.exceptions import SimulatorError
from loket.simulator.show import figures_table, sent_summary
from loket.supervisor import Supervisor
from plumbing.deadletters import RawRecord, Refused, decode_event
from plumbing.kafka import ensure_topics, open_reader
from plumbing.logging import configure_logging
from plumbing.settings import StackSettings
from schemas import DecisionData, RoutingDecided
from schemas.topics import DECISIONS, FIXED_TOPICS
from services.case.app import migrate_database
from services.case.auth import mint_token
from services.case.settings import CaseSettings
from services.intake.auth import ChannelSystem
from services.intake.settings import IntakeSettings
from services.norms.settings import NormsSettings

console = Console()

#: The department whose cases the demo's back-office token sees.
DEMO_DEPARTMENT = "openbare-ruimte"
#: Rows in the table of decisions, one per different question.
SHOWN = 8


def ask_command(host: str, port: int, token: str) -> str:
    """The curl that asks a question of your own as the website (``token`` is its channel system's), in lines of
    at most 80 columns so it survives being copied from a narrow terminal. The README shows it for the default
    address and the development token; a test keeps the two equal."""
    return (f"curl -s -X POST http://{host}:{port}/v1/questions \\\n"
            f"     -H 'authorization: Bearer {token}' \\\n"
            "     -H 'content-type: application/json' \\\n"
            """     -d '{"channel":"web","text":"mijn kliko is kapot",\n"""
            """          "party":{"bsn":"111222333"}}'""")


def back_office_command(host: str, port: int, token: str) -> str:
    """The curl that lists the cases of a demo worker's department in the back office."""
    return (f"curl -s 'http://{host}:{port}/v1/cases?status=registered' \\\n"
            f"     -H 'authorization: Bearer {token}'")


def demo_token() -> str:
    """A development token of a worker of the department most demo cases go to."""
    return mint_token(CaseSettings(), "demo-medewerker", [DEMO_DEPARTMENT])


def run_demo(simulated: Options, keep_running: bool, run_dir: Path | None = None) -> int:
    """``simulated``: the simulator's run through the intake; ``run_dir``: the services' logs, the state folder
    unless given."""
    configure_logging(level="warning")
    settings = StackSettings()
    run_dir = run_dir or settings.state_dir
    # The services keep nothing else in their state folder: the stack's jars and data are the stack's.
    supervisor = Supervisor(env={"LOKET_STATE_DIR": str(run_dir)}, log_dir=run_dir / "logs")
    demo_started: tuple[str, ...] = ()  # the stack components that were not running before the demo
    try:
        before = asyncio.run(stack.status(settings))
        demo_started = tuple(component.name for component in before.components if not component.running)
        return _run(settings, supervisor, run_dir / "logs", simulated, keep_running)
    except (stack.StackError, SimulatorError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    finally:
        _stop(settings, supervisor, demo_started)


def _run(settings: StackSettings, supervisor: Supervisor, log_dir: Path, simulated: Options,
         keep_running: bool) -> int:
    _print_plain(str(asyncio.run(stack.up(settings))))  # as `loket stack status` says it
    asyncio.run(migrate_database(CaseSettings()))
    asyncio.run(ensure_topics(settings, FIXED_TOPICS))
    supervisor.start()
    return asyncio.run(_demo(settings, supervisor, log_dir, simulated, keep_running))


def _print_plain(text: str) -> None:
    """Print as is: no markup, no highlighting, and no line breaks of rich's own, so it can be copied."""
    console.print(text, soft_wrap=True, markup=False, highlight=False)


def _stop(settings: StackSettings, supervisor: Supervisor, components: tuple[str, ...]) -> None:
    """Stop the services, and the stack components the demo found stopped; a Kafka or PostgreSQL the
    user had running stays. A second Ctrl-C must not cut this short, or servers would be left behind."""
    with _sigint_ignored():
        supervisor.stop()
        if not components:
            return
        try:
            stopped = stack.down(settings, only=components)
        except stack.StackError as exc:
            console.print(f"[red]could not stop {', '.join(components)}:[/red] {exc}")
            return
        console.print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


async def _demo(settings: StackSettings, supervisor: Supervisor, log_dir: Path, simulated: Options,
                keep_running: bool) -> int:
    intake, norms = IntakeSettings(), NormsSettings()
    intake_url = f"http://{intake.intake_host}:{intake.intake_port}"
    async with httpx.AsyncClient(base_url=intake_url, timeout=10) as client:
        # The norms service too: "Where to look" sends people to its /metrics, which must answer by then.
        for name, url in (("intake", intake_url), ("norms", f"http://{norms.norms_host}:{norms.norms_port}")):
            if not await _wait_healthy(client, f"{url}/health", name, log_dir):
                return 1
    console.print(f"[bold]Servicethermometer[/bold]  {thermometer_url(norms)}\n"
                  "  open it now: the norms fill in as the simulated hour goes by (reload the page)",
                  soft_wrap=True, highlight=False)
    decisions = await open_reader(settings, DECISIONS, from_end=True)
    parse = _DecisionParser()
    try:
        asked = await _simulate(simulated, intake)
        if asked is None:
            return 1
        seen = await _collect(decisions, parse, set(asked), timeout=60)
        _report(asked, seen, parse.skipped)
        if len(seen) != len(asked):
            console.print(f"[red]{len(asked) - len(seen)} questions were not decided in 60s[/red]; "
                          f"see the router's log, {log_dir / 'router.log'}", soft_wrap=True)
            return 1
        _where_to_look(log_dir)
        if keep_running:
            return await _follow(decisions, parse, supervisor)
    finally:
        await decisions.stop()
    return 0


async def _simulate(simulated: Options, intake: IntakeSettings) -> dict[str, dict] | None:
    """The simulated run through the intake, and its figures; the questions the intake took, by contact id
    (None when it refused some)."""
    run = prepare(simulated, dt.datetime.now(AMSTERDAM))
    if not run.day.posts:
        console.print("the simulated run has no contacts: choose another --start or a longer --duration")
        return {}
    console.print(f"simulating {run.title} at {_speed(simulated.speed)}, through the intake", soft_wrap=True,
                  highlight=False)
    sent = await deliver(run.day, run.timeline, intake, console, direct=False)
    console.print(figures_table(run.day.figures, run.title))
    if not sent.ok:
        _print_plain(sent_summary(sent))
        return None
    return {sent.contact_of[post.key]: dict(post.body) for post in run.day.posts if post.key in sent.contact_of}


def _speed(speed: float | None) -> str:
    return "full speed" if speed is None else f"{speed:g} times real time"


class _DecisionParser:
    """Reads decisions records; one that is not a valid RoutingDecided is counted and skipped, said once."""

    def __init__(self) -> None:
        self.skipped = 0

    def __call__(self, record: RawRecord) -> RoutingDecided | None:
        try:
            return decode_event(RoutingDecided, record)
        except Refused as refused:
            self.skipped += 1
            if self.skipped == 1:
                # The reason names fields, never their values, so it is safe to show.
                console.print(f"[yellow]skipping records on the decisions topic that are not a valid "
                              f"RoutingDecided (first: {refused.reason})[/yellow]")
            return None


async def _follow(decisions: AIOKafkaConsumer, parse: _DecisionParser, supervisor: Supervisor) -> int:
    """Print every new decision as it comes, until Ctrl-C or until a service dies."""
    console.print("Everything runs; new decisions appear below. [bold]Ctrl-C[/bold] stops it all.")
    _print_plain(_decision_line("time", "channel", "outcome", "subject", "case"))
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    while not stopping.is_set():
        if supervisor.exited():
            console.print(f"[red]a service stopped unexpectedly: {supervisor.exited()}[/red]")
            return 1
        for records in (await decisions.getmany(timeout_ms=500)).values():
            for decision in filter(None, (parse(record) for record in records)):
                data = decision.data
                _print_plain(_decision_line(f"{data.decided_at:%H:%M:%S}", data.channel.value, data.outcome.value,
                                            data.subject_code, data.case_id or ""))
    if parse.skipped:
        console.print(f"{parse.skipped} unreadable decisions records skipped in all")
    return 0


def _decision_line(time_: str, channel: str, outcome: str, subject: str, case: str) -> str:
    return f"{time_:<8} {channel:<7} {outcome:<9} {subject:<16} {case}"


async def _wait_healthy(client: httpx.AsyncClient, url: str, name: str, log_dir: Path, timeout: float = 90) -> bool:
    deadline = time.monotonic() + timeout
    with console.status(f"waiting for {name}…"):
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    console.print(f"[red]{name} did not come up in {timeout:.0f}s[/red]; see its log, {log_dir / f'{name}.log'}",
                  soft_wrap=True)
    return False


async def _collect(
    consumer: AIOKafkaConsumer, parse: _DecisionParser, wanted: set[str], timeout: float
) -> dict[str, RoutingDecided]:
    seen: dict[str, RoutingDecided] = {}
    deadline = time.monotonic() + timeout
    with console.status("waiting for the router's decisions…"):
        while len(seen) < len(wanted) and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for decision in filter(None, (parse(record) for record in records)):
                    if decision.data.contact_id in wanted:
                        seen[decision.data.contact_id] = decision
    return seen


def one_per_question(contact_ids: Iterable[str], text_of: Mapping[str, str], limit: int) -> list[str]:
    """The first ``limit`` contacts whose question text no earlier one asked: the simulator repeats
    questions (so the ask-once rule has work), but a table of examples should not."""
    first: dict[str, str] = {}
    for contact_id in contact_ids:
        if len(first) == limit:
            break
        first.setdefault(text_of[contact_id], contact_id)
    return list(first.values())


def _report(sent: dict[str, dict], seen: dict[str, RoutingDecided], skipped: int) -> None:
    console.print(f"{len(seen)} of {len(sent)} questions decided")
    shown = one_per_question(seen, {contact_id: body["text"] for contact_id, body in sent.items()}, SHOWN)
    if shown:
        table = Table(title=f"how the first {len(shown)} different questions were decided")
        for column in ("channel", "question", "outcome", "subject", "department"):
            table.add_column(column, overflow="fold")  # a narrow terminal folds a long word, never cuts it off
        for contact_id in shown:
            data = seen[contact_id].data
            table.add_row(data.channel.value, sent[contact_id]["text"], data.outcome.value, data.subject_code,
                          department_column(data), end_section=True)
        console.print(table)
        outcomes = Counter(d.data.outcome.value for d in seen.values())
        console.print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    if skipped:
        console.print(f"unreadable decisions records skipped: {skipped}")


def department_column(data: DecisionData) -> str:
    """Who has the question: a case's department, or the front office that answered or referred it. A linked
    decision does not name the department of the case it joined: a dash, rather than a wrong "front office"."""
    if data.department:
        return data.department
    return "—" if data.case_id else "front office"


def thermometer_url(norms: NormsSettings) -> str:
    return f"http://{norms.norms_host}:{norms.norms_port}/thermometer"


def _where_to_look(log_dir: Path) -> None:
    intake, norms = IntakeSettings(), NormsSettings()
    console.print(f"""
[bold]Where to look[/bold]
  thermometer      {thermometer_url(norms)}  (its JSON: /thermometer.json)
  staffing advice  http://{norms.norms_host}:{norms.norms_port}/staffing.json
  recurring        http://{norms.norms_host}:{norms.norms_port}/reports/recurring
  intake API docs  http://{intake.intake_host}:{intake.intake_port}/docs
  metrics          http://{norms.norms_host}:{norms.norms_port}/metrics
                   loket_norm_attainment_ratio, loket_decisions_total, loket_wait_seconds
  service logs     {escape(str(log_dir))}/
  the stack        loket stack status

[bold]Ask a question of your own[/bold]""", soft_wrap=True, highlight=False)
    _print_plain(ask_command(intake.intake_host, intake.intake_port, intake.token(ChannelSystem.WEBSITE)))
    cases = CaseSettings()
    console.print(f"""
[bold]The back office[/bold] (a token of a worker of {DEMO_DEPARTMENT}, from `loket token`; API docs at
http://{cases.case_host}:{cases.case_port}/docs)""", soft_wrap=True, highlight=False)
    _print_plain(back_office_command(cases.case_host, cases.case_port, demo_token()))
