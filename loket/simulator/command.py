"""``loket simulate``: a simulated day of Zeventerpen, sent through the intake (or straight to Kafka) on a
compressed clock, with a progress bar and the simulator's own figures at the end."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console

from loket.simulator.day import simulate
from loket.simulator.doors import Doors, IntakeDoors, KafkaDoors
from loket.simulator.exceptions import IntakeUnreachable, SimulatorError
from loket.simulator.model import Day, Post, Scenario
from loket.simulator.send import Sent, send
from loket.simulator.show import figures_table, progress, sent_summary
from loket.simulator.timeline import Timeline
from plumbing.exceptions import PlumbingError
from plumbing.organisation import load_organisation
from services.intake.settings import IntakeSettings
from services.router.settings import RouterSettings

#: The municipality's clock: the daily curves are in its local time.
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?$")


@dataclass(frozen=True)
class Options:
    """What ``loket simulate`` was asked for."""

    seed: int = 7
    agents: int = 10
    rate: float = 1.0
    start: dt.time = dt.time(8, 0)
    duration: dt.timedelta = dt.timedelta(hours=9)
    speed: float | None = 120.0  # simulated seconds per wall second; None: as fast as possible
    direct: bool = False
    intake: str | None = None
    date: dt.date | None = None  # replay this past day with its own times
    dry_run: bool = False


def parse_duration(text: str) -> dt.timedelta:
    """``9h``, ``30m``, ``1h30m`` or a number of minutes."""
    text = text.strip().lower()
    if text.isdigit():
        return dt.timedelta(minutes=int(text))
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"not a duration: {text!r} (say 9h, 30m, 1h30m or a number of minutes)")
    return dt.timedelta(hours=int(match[1] or 0), minutes=int(match[2] or 0))


def parse_speed(text: str) -> float | None:
    """Simulated seconds per real second (``120`` or ``120x``), or ``max``: None, as fast as possible."""
    text = text.strip().lower()
    if text == "max":
        return None
    try:
        speed = float(text.removesuffix("x"))
    except ValueError:
        raise ValueError(f"not a speed: {text!r} (say 120, 1 for real time, or max)") from None
    if not speed > 0:
        raise ValueError("the speed must be more than 0 (or max)")
    return speed


def scenario(options: Options, began: dt.datetime) -> Scenario:
    """The scenario of a run begun at ``began``. Its ids name the run: a replayed day (or a dry run) always the
    same, a live run its own start, so that two live runs never send one id with two bodies."""
    day = options.date or began.astimezone(AMSTERDAM).date()
    start = dt.datetime.combine(day, options.start, tzinfo=AMSTERDAM)
    fixed = options.date is not None or options.dry_run
    run = f"{start.isoformat()}/{options.duration}/{options.agents}/{options.rate}" if fixed \
        else f"live/{began.isoformat()}"
    return Scenario(start=start, duration=options.duration, seed=options.seed, agents=options.agents,
                    rate=options.rate, run=run)


@dataclass(frozen=True)
class Run:
    """A run made ready: its scenario, its simulated day, and where the day lands on the clock."""

    options: Options
    scenario: Scenario
    day: Day
    timeline: Timeline

    @property
    def title(self) -> str:
        end = self.scenario.start + self.scenario.duration
        return (f"Zeventerpen, {self.scenario.start:%a %d %b %Y %H:%M}-{end:%H:%M} (seed {self.options.seed}, "
                f"{self.options.agents} agents, rate {self.options.rate:g})")


def prepare(options: Options, began: dt.datetime) -> Run:
    """Simulate the day of a run begun at ``began``; ``ValueError`` for options that make no run."""
    the_scenario = scenario(options, began)
    day = simulate(the_scenario, load_organisation(RouterSettings().organisation_file))
    last = day.posts[-1].at if day.posts else the_scenario.start
    replay = options.date is not None or options.dry_run
    timeline = Timeline(the_scenario.start, last, began, options.speed, replay=replay)
    return Run(options, the_scenario, day, timeline)


def run_simulate(options: Options, console: Console) -> int:
    """Simulate and send; 0 when the intake took everything, 1 when it refused some, 2 when it could not run."""
    began = dt.datetime.now(AMSTERDAM)
    try:
        run = prepare(options, began)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    if options.dry_run or not run.day.posts:
        for post in run.day.posts:
            print(json.dumps({"at": post.at.isoformat(timespec="milliseconds"), "door": post.door.path,
                              "idempotency_key": post.key, "about": post.about,
                              "body": run.timeline.body(post.body)}, ensure_ascii=False))
        console.print(figures_table(run.day.figures, run.title))
        return 0
    settings = IntakeSettings()
    try:
        if run.timeline.replay:
            check_window(run.day, began, settings)
        sent = asyncio.run(deliver(run.day, run.timeline, settings, console, direct=options.direct,
                                   intake=options.intake))
    except (SimulatorError, PlumbingError) as exc:
        console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        return 2
    console.print(figures_table(run.day.figures, run.title))
    console.print(sent_summary(sent), soft_wrap=True, markup=False, highlight=False)
    return 0 if sent.ok else 1


def check_window(day: Day, began: dt.datetime, settings: IntakeSettings) -> None:
    """A replayed day's times must lie in the intake's window around its clock for the whole run."""
    oldest = began - dt.timedelta(days=settings.intake_received_at_max_age_days) + dt.timedelta(hours=1)
    newest = began + dt.timedelta(seconds=settings.intake_received_at_max_future_seconds)
    if day.posts[0].at < oldest or day.posts[-1].at > newest:
        raise SimulatorError(
            f"a replayed day's times must lie within the intake's window: from {oldest:%Y-%m-%d %H:%M} to "
            f"{newest:%Y-%m-%d %H:%M} (this run's go from {day.posts[0].at:%Y-%m-%d %H:%M} to "
            f"{day.posts[-1].at:%Y-%m-%d %H:%M}); pick a more recent --date, or one whose day has ended")


async def deliver(day: Day, timeline: Timeline, settings: IntakeSettings, console: Console, *, direct: bool,
                  intake: str | None = None) -> Sent:
    """Send the day through the intake at ``intake`` (its settings' address by default) or straight to Kafka,
    with a progress bar."""
    if direct:
        doors = await KafkaDoors.open(settings)
        try:
            return await _with_progress(day, timeline, doors, console, "sending to Kafka")
        finally:
            await doors.close()
    url = intake or f"http://{settings.intake_host}:{settings.intake_port}"
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await _answering(client)
        return await _with_progress(day, timeline, IntakeDoors(client, settings), console, "sending")


async def _with_progress(day: Day, timeline: Timeline, doors: Doors, console: Console, what: str) -> Sent:
    with progress(console) as bar:
        task = bar.add_task(what, total=len(day.posts), clock=f"{day.posts[0].at:%H:%M}" if day.posts else "")

        def advanced(post: Post) -> None:
            bar.update(task, advance=1, clock=f"{post.at:%H:%M}")

        return await send(day, timeline, doors, sent=advanced)


async def _answering(client: httpx.AsyncClient) -> None:
    try:
        await client.get("/health")
    except httpx.TransportError as exc:
        raise IntakeUnreachable(f"the intake at {client.base_url} does not answer ({type(exc).__name__}); is "
                                "`loket intake` (or `loket run`) running?") from None
