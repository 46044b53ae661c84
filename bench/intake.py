"""Requests/s the intake sustains with p99 ≤ 50 ms from request to 202, against a bare FastAPI floor, in one run.

    python bench/intake.py [--seconds 10] [--warmup 2] [--rates 100,500,1000] [--no-search] [--no-fill]

Needs the local stack (``loket stack up``). Runs ``loket intake`` and the floor (``bench/intake_floor.py``: a
bare FastAPI endpoint doing only the same acknowledged producer send) as processes of their own on fresh,
prefixed topics, and loads each with an open-loop client in a process of its own (``bench/open_loop.py``):
phone questions, each with the telephony platform's token and its own Idempotency-Key, sent on a fixed
schedule and timed from when each was due, so queueing is not hidden. First the intake's memory of keys is
filled (``--fill``), as it is after a minute at 1,000/s or a restart that reads the keys back. At each rate
the two take turns, the first of them alternating from rate to rate. Prints p50/p99/max per rate, the p99
ratio, each server's CPU, the client's own lag and CPU and how busy the machine was; with ``--search`` also
the highest rate at which each kept p99 ≤ 50 ms, and their ratio. Absolute numbers depend on the machine and
its noise (other work shows as the machine busier than the servers, the broker and the client make it).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import typer
from rich.console import Console

from intake_floor import FLOOR  # bench/ is the script's folder

from plumbing.kafka import delete_deployment_topics, ensure_topics
from schemas.topics import CONTACTS
from services.intake.auth import ChannelSystem
from services.intake.settings import IntakeSettings

console = Console(soft_wrap=True, highlight=False)
HERE = Path(__file__).resolve().parent
#: The bar: p99 from request (when it was due) to 202.
P99_BAR = 0.050
#: Client lag (sent − due) at p99 beyond which a rate measures the client as much as the server.
LAG_BAR = 0.005
#: Search steps per server beyond the fixed rates, and the finest step it refines to.
SEARCH_STEPS = 5
SEARCH_RESOLUTION = 0.1
MIN_RATE = 10.0
#: Requests/s at which the intake's memory of Idempotency-Keys is filled before anything is measured.
FILL_RATE = 500.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def cpu_seconds(self) -> float:
        """User and system CPU the process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@dataclass(frozen=True)
class Phase:
    """One server at one rate: the client's report, and the CPU the server and the client used meanwhile."""

    server: str
    rate: float
    report: dict
    server_cpu: float  # share of one core while the client ran (its warm-up and start included)
    client_cpu: float
    machine_busy: float  # processors busy on average, everything on the machine (the broker, other work) included

    @property
    def others(self) -> float:
        """Processors the rest of the machine kept busy: the broker (about a tenth of one), and other work."""
        return max(0.0, self.machine_busy - self.server_cpu - self.client_cpu)

    def ms(self, figure: str, of: str = "latency") -> float:
        return self.report[of][figure] * 1000

    @property
    def failures(self) -> int:
        return self.report["requests"] - self.report["statuses"].get("202", 0)

    @property
    def ok(self) -> bool:
        return self.failures == 0 and self.report["latency"]["p99"] <= P99_BAR


def machine_busy_seconds() -> float:
    """CPU seconds all processors have spent busy since boot (Linux /proc/stat): idle and iowait not counted."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(name: str, command: list[str], env: dict[str, str], scratch: Path) -> Server:
    port = free_port()
    log = scratch / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**env, "LOKET_INTAKE_PORT": str(port)}, stdout=out, stderr=out,
                                   start_new_session=True)
    return Server(name, process, f"http://127.0.0.1:{port}", log)


async def wait_ready(server: Server, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} stopped (exit code {server.process.returncode}):\n"
                                   f"{server.log.read_text()[-2000:]}")
            try:
                if (await client.get(f"{server.url}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready within {timeout:g}s:\n{server.log.read_text()[-2000:]}")


async def load(server: Server, rate: float, seconds: float, warmup: float, token: str) -> Phase:
    """Run the open-loop client against ``server`` at ``rate``; the client's CPU is what its process used."""
    children, cpu, busy = resource.getrusage(resource.RUSAGE_CHILDREN), server.cpu_seconds(), machine_busy_seconds()
    began = time.monotonic()
    client = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "open_loop.py"), f"{server.url}/v1/questions", "--rate", str(rate),
        "--seconds", str(seconds), "--warmup", str(warmup), "--token", token, stdout=subprocess.PIPE)
    out, _ = await client.communicate()
    if client.returncode:
        raise RuntimeError(f"the load client failed (exit code {client.returncode}) against {server.name}")
    elapsed = time.monotonic() - began
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = used.ru_utime + used.ru_stime - children.ru_utime - children.ru_stime
    return Phase(server.name, rate, json.loads(out), (server.cpu_seconds() - cpu) / elapsed, client_cpu / elapsed,
                 (machine_busy_seconds() - busy) / elapsed)


def show(phase: Phase) -> None:
    report = phase.report
    notes = [f"{count}× {status or 'broken connection'}" for status, count in report["statuses"].items()
             if status != "202"]
    notes += [f"{report[k]} {k.replace('_', ' ')}" for k in ("unanswered", "retried") if report[k]]
    if phase.ms("p99", "lag") > LAG_BAR * 1000:
        notes.append("the client lagged: this rate measures the client too")
    line = (f"{phase.server:>6} {phase.rate:>6,.0f}/s  p50 {phase.ms('p50'):6.1f}  p99 {phase.ms('p99'):6.1f}  "
            f"max {phase.ms('max'):6.1f} ms  cpu {phase.server_cpu:4.0%}  client: lag p99 "
            f"{phase.ms('p99', 'lag'):4.1f} ms, cpu {phase.client_cpu:3.0%}  rest of machine {phase.others:.1f} cores")
    console.print(line + (f"  ({'; '.join(notes)})" if notes else ""), markup=False)


def next_rate(phases: list[Phase], ceiling: float) -> float | None:
    """The next rate to try for one server: up by half while p99 stays within the bar, down by half while it
    does not, then halving the gap between the highest rate within it and the lowest above it, to
    ``SEARCH_RESOLUTION`` of the rate."""
    tried = {p.rate for p in phases}
    within = [p.rate for p in phases if p.ok]
    low = max(within, default=0.0)
    high = min((p.rate for p in phases if not p.ok and p.rate > low), default=None)
    if high is None:
        rate = round(min(ceiling, low * 1.5), -1)
    elif not within:
        rate = round(high / 2, -1)
    elif high - low <= SEARCH_RESOLUTION * low:
        return None
    else:
        rate = round((low + high) / 2, -1)
    return None if rate in tried or rate <= low or rate < MIN_RATE else rate


def sustained(phases: list[Phase]) -> float:
    """The highest rate measured within the bar (a miss below it is the machine's noise more often than not:
    noise only ever adds latency)."""
    return max((p.rate for p in phases if p.ok), default=0.0)


def summary(phases: list[Phase], rates: list[float]) -> list[str]:
    """The fixed rates as a Markdown table (✗: p99 over the bar, or not every answer a 202)."""
    rows = ["| rate | intake p50 / p99 / max | floor p50 / p99 / max | p99 intake / floor | cpu intake | cpu floor "
            "| client lag p99 | rest of machine |", "|---|---|---|---|---|---|---|---|"]
    for rate in rates:
        pair = {p.server: p for p in phases if p.rate == rate}
        intake, floor = pair["intake"], pair["floor"]
        figures = [f"{p.ms('p50'):.1f} / {p.ms('p99'):.1f} / {p.ms('max'):.0f} ms" + ("" if p.ok else " ✗")
                   for p in (intake, floor)]
        rows.append(f"| {rate:,.0f}/s | {' | '.join(figures)} | {intake.ms('p99') / floor.ms('p99'):.2f} "
                    f"| {intake.server_cpu:.0%} | {floor.server_cpu:.0%} "
                    f"| {max(intake.ms('p99', 'lag'), floor.ms('p99', 'lag')):.1f} ms "
                    f"| {intake.others:.1f} / {floor.others:.1f} cores |")
    return rows


async def bench(rates: list[float], seconds: float, warmup: float, search: bool, ceiling: float, fill: bool) -> None:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = IntakeSettings(topic_prefix=prefix)
    token = settings.token(ChannelSystem.TELEPHONY)
    # The servers run this checkout's code (the one the bench is in), whatever the virtualenv points at.
    path = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "LOKET_TOPIC_PREFIX": prefix, "LOKET_LOG_LEVEL": "warning"}
    env.pop("LOKET_INTAKE_SMTP_PORT", None)
    await ensure_topics(settings, [CONTACTS, FLOOR])
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="loket-bench-") as scratch:
        try:
            servers = [start("intake", [sys.executable, "-m", "loket", "intake"], env, Path(scratch)),
                       start("floor", [sys.executable, str(HERE / "intake_floor.py")], env, Path(scratch))]
            with console.status("starting the intake and the floor…"):
                for server in servers:
                    await wait_ready(server)
                    await load(server, 200, 3, 0, token)  # first requests: imports, caches, connections
            if fill:
                keys = settings.intake_idempotency_max_keys
                with console.status(f"filling the intake's memory with {keys:,} Idempotency-Keys…"):
                    filled = await load(servers[0], FILL_RATE, keys / FILL_RATE, 0, token)
                console.print(f"memory of keys filled: {filled.report['statuses']} at {FILL_RATE:,.0f}/s, "
                              f"p99 {filled.ms('p99'):.1f} ms")
            phases = await measure(servers, rates, seconds, warmup, token, search, ceiling)
        finally:
            for server in servers:
                server.process.terminate()
            for server in servers:
                server.process.wait(timeout=30)
            await delete_deployment_topics(settings)
    report(phases, rates, search, seconds)


async def measure(servers: list[Server], rates: list[float], seconds: float, warmup: float, token: str,
                  search: bool, ceiling: float) -> list[Phase]:
    phases: list[Phase] = []
    for turn, rate in enumerate(rates):
        for server in servers[::-1] if turn % 2 else servers:
            with console.status(f"{server.name} at {rate:,.0f}/s…"):
                phases.append(await load(server, rate, seconds, warmup, token))
            show(phases[-1])
    for turn in range(SEARCH_STEPS if search else 0):
        for server in servers[::-1] if turn % 2 else servers:
            rate = next_rate([p for p in phases if p.server == server.name], ceiling)
            if rate is None:
                continue
            with console.status(f"search: {server.name} at {rate:,.0f}/s…"):
                phases.append(await load(server, rate, seconds, warmup, token))
            show(phases[-1])
    return phases


def report(phases: list[Phase], rates: list[float], search: bool, seconds: float) -> None:
    console.print()
    for row in summary(phases, rates):
        console.print(row, markup=False)
    best = {name: sustained([p for p in phases if p.server == name]) for name in ("intake", "floor")}
    # No miss above the best: the server's edge lies beyond the highest rate tried (the ceiling, or the steps ran out).
    open_ended = {name: not any(p.server == name and not p.ok and p.rate > best[name] for p in phases)
                  for name in best}
    tried = "searched" if search else f"of {', '.join(f'{r:,.0f}' for r in rates)}/s"
    ratio = f"{best['intake'] / best['floor']:.2f}" if best["floor"] else "–"
    if open_ended["floor"] and not open_ended["intake"] and best["floor"]:
        ratio = f"≤ {ratio}"
    elif open_ended["intake"] and not open_ended["floor"]:
        ratio = f"≥ {ratio}"
    elif open_ended["intake"] and open_ended["floor"]:
        ratio = f"{ratio} (both edges beyond the rates tried)"
    at_least = {name: "≥ " if open_ended[name] else "" for name in best}
    console.print(f"highest rate measured with p99 ≤ {P99_BAR * 1000:.0f} ms ({tried}): "
                  f"intake {at_least['intake']}{best['intake']:,.0f}/s, "
                  f"floor {at_least['floor']}{best['floor']:,.0f}/s, ratio intake/floor {ratio}")
    console.print(f"({seconds:g} s measured per rate after its warm-up, {os.cpu_count()} cores; cpu is the share of "
                  "one core while the client ran)")


def main(seconds: float = typer.Option(10.0, help="Measured seconds per rate."),
         warmup: float = typer.Option(2.0, help="Seconds at each rate before it is measured."),
         rates: str = typer.Option("100,500,1000", help="Fixed rates, requests/s, comma separated."),
         search: bool = typer.Option(True, help="Also search each server's highest rate with p99 within the bar."),
         ceiling: float = typer.Option(6000.0, help="Highest rate the search tries."),
         fill: bool = typer.Option(True, help="First fill the intake's memory of Idempotency-Keys (takes a while).")
         ) -> None:
    asyncio.run(bench([float(r) for r in rates.split(",")], seconds, warmup, search, ceiling, fill))


if __name__ == "__main__":
    typer.run(main)
