"""The ``loket`` command: the local stack, the database, each service, all services, the simulator and the demo."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from plumbing.logging import configure_logging
from plumbing.settings import StackSettings

if TYPE_CHECKING:
    from loket.simulator.command import Options as SimulatorOptions

cli = typer.Typer(help="Loket: one-desk contact-center routing and case management.", no_args_is_help=True)
stack_cli = typer.Typer(help="The local stack: a real Kafka (KRaft) and PostgreSQL.", no_args_is_help=True)
db_cli = typer.Typer(help="The Loket database.", no_args_is_help=True)
schemas_cli = typer.Typer(help="The event contract.", no_args_is_help=True)
cli.add_typer(stack_cli, name="stack")
cli.add_typer(db_cli, name="db")
cli.add_typer(schemas_cli, name="schemas")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@stack_cli.command("up")
def stack_up() -> None:
    """Start Kafka and PostgreSQL (or reuse running ones) and apply the database migrations."""
    from loket import stack
    from services.case.app import migrate_database
    from services.case.settings import CaseSettings

    settings = StackSettings()
    try:
        status = asyncio.run(stack.up(settings))
    except stack.StackError as exc:
        _fail(str(exc))
    applied = asyncio.run(migrate_database(CaseSettings()))
    typer.echo(str(status))
    typer.echo(f"migrations applied: {', '.join(applied) if applied else 'none pending'}")


@stack_cli.command("down")
def stack_down() -> None:
    """Stop exactly what ``stack up`` started."""
    from loket import stack

    stopped = stack.down(StackSettings())
    typer.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@stack_cli.command("status")
def stack_status() -> None:
    """Say what runs where."""
    from loket import stack

    typer.echo(str(asyncio.run(stack.status(StackSettings()))))


@stack_cli.command("reset")
def stack_reset(yes: bool = typer.Option(False, "--yes", help="Really delete the Kafka and database data.")) -> None:
    """Stop the stack and delete its data (the Kafka jars stay)."""
    from loket import stack

    if not yes:
        _fail("this deletes all local Kafka and PostgreSQL data; repeat with --yes")
    stack.reset(StackSettings())


@db_cli.command("migrate")
def db_migrate() -> None:
    """Apply pending database migrations."""
    from services.case.app import migrate_database
    from services.case.settings import CaseSettings

    applied = asyncio.run(migrate_database(CaseSettings()))
    typer.echo(f"applied: {', '.join(applied)}" if applied else "the database is up to date")


@schemas_cli.command("export")
def schemas_export() -> None:
    """Write the JSON Schemas and the AsyncAPI document from the models."""
    from schemas.export import write_all

    for path in write_all():
        typer.echo(str(path))


def _serve(module: str) -> None:
    """Run one service's ``main``; a configuration problem is one line on stderr, not a traceback."""
    import importlib

    from plumbing.exceptions import PlumbingError
    from plumbing.organisation import OrganisationFileError

    try:
        importlib.import_module(module).main()
    except (OrganisationFileError, PlumbingError) as exc:
        _fail(str(exc))


@cli.command()
def intake() -> None:
    """Run the intake HTTP API."""
    _serve("services.intake.app")


@cli.command()
def router() -> None:
    """Run the one-desk router."""
    _serve("services.router.app")


@cli.command()
def cases() -> None:
    """Run the case service."""
    _serve("services.case.app")


norms_cli = typer.Typer(help="Run the norms service: the service thermometer on /thermometer, metrics on "
                        "/metrics; or rebuild its figures.", invoke_without_command=True)
cli.add_typer(norms_cli, name="norms")


@norms_cli.callback()
def norms(context: typer.Context) -> None:
    """Run the norms service: the thermometer on /thermometer, its JSON on /thermometer.json, metrics on /metrics."""
    if context.invoked_subcommand is None:
        _serve("services.norms.app")


@norms_cli.command("rebuild")
def norms_rebuild(
    at: str | None = typer.Option(None, show_default=False, help="The moment the figures hold for (ISO 8601 with "
                                  "an offset, e.g. a live thermometer's measured_at); by default now."),
    staffing: bool = typer.Option(False, "--staffing", help="The staffing advice instead of the thermometer."),
) -> None:
    """Compute every norm again from the topics' whole history and print the thermometer's JSON (as the norms
    service's /thermometer.json at the same moment)."""
    import datetime as dt

    from plumbing.exceptions import PlumbingError
    from plumbing.organisation import OrganisationFileError, load_organisation
    from services.norms.rebuild import rebuilt_json
    from services.norms.settings import NormsSettings

    moment = None
    if at is not None:
        try:
            moment = dt.datetime.fromisoformat(at)
        except ValueError:
            _fail(f"not a moment: {at!r} (say 2026-12-03T10:15:00+01:00)")
        if moment.tzinfo is None:
            _fail(f"{at!r} has no offset: say which time zone it is in (+01:00, Z)")
    settings = NormsSettings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        typer.echo(rebuilt_json(settings, load_organisation(settings.organisation_file), moment, staffing))
    except (OrganisationFileError, PlumbingError) as exc:
        _fail(str(exc))


@cli.command()
def token(
    worker: str = typer.Option(..., help="The worker's id: the token's subject."),
    department: list[str] = typer.Option([], help="A department code the worker works for; repeat for more "
                                         "(an admin needs none)."),
    role: str = typer.Option("worker", help="worker, coordinator or admin."),
    minutes: int | None = typer.Option(None, min=1, show_default=False,
                                       help="How long it is valid; by default LOKET_CASE_TOKEN_MINUTES (480)."),
) -> None:
    """Mint a development bearer token for the back-office API and print it."""
    import datetime as dt

    from plumbing.organisation import OrganisationFileError, load_organisation
    from services.case.auth import BackOfficeSettings, mint_token
    from services.case.commands import Role
    from services.case.settings import CaseSettings

    if role not in set(Role):
        _fail(f"no role {role!r}: one of {', '.join(Role)}")
    case = CaseSettings()
    try:
        known = {d.code for d in load_organisation(case.organisation_file).departments}
    except OrganisationFileError as exc:
        _fail(str(exc))
    if unknown := sorted(set(department) - known):
        _fail(f"no department {', '.join(unknown)} in {case.organisation_file}")
    if not department and role != Role.ADMIN:
        _fail("a worker or coordinator needs at least one --department")
    ttl = dt.timedelta(minutes=minutes) if minutes else None
    typer.echo(mint_token(BackOfficeSettings(), worker, department, Role(role), ttl))
    args = " ".join([f"--worker {worker}", *(f"--department {d}" for d in department), f"--role {role}"])
    typer.echo(f'use it: TOKEN=$(loket token {args}); curl -s -H "Authorization: Bearer $TOKEN" '
               f"http://{case.case_host}:{case.case_port}/v1/cases", err=True)


@cli.command()
def run() -> None:
    """Run all four services, one process each, until Ctrl-C."""
    from loket.supervisor import Supervisor

    configure_logging()
    supervisor = Supervisor()
    supervisor.start()
    raise typer.Exit(supervisor.wait())


def _simulator_options(seed: int, agents: int, rate: float, start: str, duration: str, speed: str,
                       **more: object) -> "SimulatorOptions":
    """The simulator's options from the command line; a wrong one is one line on stderr."""
    import datetime as dt

    from loket.simulator.command import Options, parse_duration, parse_speed

    try:
        return Options(seed=seed, agents=agents, rate=rate, start=dt.time.fromisoformat(start),
                       duration=parse_duration(duration), speed=parse_speed(speed), **more)  # type: ignore[arg-type]
    except ValueError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


_SEED = typer.Option(7, help="The same seed gives the same day: the same requests in the same order.")
_AGENTS = typer.Option(10, min=1, help="Agents answering the phone; fewer make longer waits and more abandons.")
_RATE = typer.Option(1.0, min=0.0, help="Multiplies every channel's arrivals (2: twice as busy a day).")
_START = typer.Option("08:00", help="Simulated time of day the run begins (HH:MM, Europe/Amsterdam).")


@cli.command()
def simulate(
    seed: int = _SEED,
    agents: int = _AGENTS,
    rate: float = _RATE,
    start: str = _START,
    duration: str = typer.Option("9h", help="How much of the day to simulate: 9h, 30m, 1h30m, or minutes."),
    speed: str = typer.Option("120", help="Simulated seconds per real second (120: a 9-hour day in 4.5 "
                              "minutes; 1: real time), or max: as fast as possible."),
    direct: bool = typer.Option(False, "--direct", help="Straight onto the contacts topic, as the events the "
                                "intake would make (load tests); by default through the intake's API."),
    intake: str | None = typer.Option(None, show_default=False, help="The intake's URL; by default "
                                      "http://LOKET_INTAKE_HOST:LOKET_INTAKE_PORT."),
    date: str | None = typer.Option(None, show_default=False, help="Replay this past day (YYYY-MM-DD, within "
                                    "the intake's 30 days) with its own times: the same seed then gives the same "
                                    "events, ids and all."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Send nothing: print each request as a JSON line."),
) -> None:
    """A realistic day of Zeventerpen on every channel, through the intake, with the simulator's figures."""
    import datetime as dt

    from rich.console import Console

    from loket.simulator.command import run_simulate

    try:
        day = dt.date.fromisoformat(date) if date else None
    except ValueError:
        _fail(f"not a date: {date!r} (say 2026-05-12)")
    options = _simulator_options(seed, agents, rate, start, duration, speed, direct=direct, intake=intake, date=day,
                                 dry_run=dry_run)
    configure_logging(level="warning")
    try:
        code = run_simulate(options, Console(stderr=dry_run))
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    raise typer.Exit(code)


@cli.command()
def demo(
    seed: int = _SEED,
    agents: int = _AGENTS,
    rate: float = _RATE,
    start: str = typer.Option("09:00", help="Simulated time of day the run begins (HH:MM, Europe/Amsterdam)."),
    duration: str = typer.Option("1h", help="How much of the day to simulate: 1h, 30m, 1h30m, or minutes."),
    speed: str = typer.Option("60", help="Simulated seconds per real second (60: the hour in a minute), or max."),
    keep_running: bool = typer.Option(True, help="Keep everything up after the simulated run, until Ctrl-C."),
    run_dir: Path | None = typer.Option(None, show_default=False, help="Folder for the services' logs (logs/); "
                                        "by default the state folder, LOKET_STATE_DIR."),
) -> None:
    """Stack up, all services, a simulated hour of Zeventerpen through the intake, and where to look."""
    from loket.demo import run_demo

    simulated = _simulator_options(seed, agents, rate, start, duration, speed)
    raise typer.Exit(run_demo(simulated, keep_running=keep_running, run_dir=run_dir))


def main() -> None:
    cli()
