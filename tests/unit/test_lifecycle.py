"""A signalled service stops within its stop timeout, whatever it is doing: each case runs in a process of its
own (``scenario``), since the last resort ends the process."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from plumbing.exceptions import Stopped
from plumbing.lifecycle import FORCED_EXIT, run_until_signalled
from plumbing.logging import configure_logging
from plumbing.settings import LoketSettings

STOP_TIMEOUT = 1.0
#: Seconds a process may take beyond its stop timeout to be gone: the exit itself, on a busy machine.
EXIT_SLACK = 1.0
ROOT = Path(__file__).resolve().parents[2]


async def _returns(stopping: asyncio.Event) -> None:
    await stopping.wait()


async def _ignores_the_stop(stopping: asyncio.Event) -> None:
    await asyncio.Event().wait()


async def _refuses_to_be_cancelled(stopping: asyncio.Event) -> None:
    while True:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass


async def _blocks_the_event_loop(stopping: asyncio.Event) -> None:
    await stopping.wait()
    time.sleep(3600)  # a call that never returns holds the event loop: no task can run, no cancel arrives


async def _stopped_waiting_for_a_dependency(stopping: asyncio.Event) -> None:
    await stopping.wait()
    raise Stopped("broker")


async def _fails(stopping: asyncio.Event) -> None:
    raise RuntimeError("broken")


SCENARIOS = {f.__name__.lstrip("_"): f for f in (_returns, _ignores_the_stop, _refuses_to_be_cancelled,
                                                  _blocks_the_event_loop, _stopped_waiting_for_a_dependency, _fails)}


def scenario(name: str) -> None:
    """Run in the child: ``run_until_signalled`` with one of the ``SCENARIOS`` as its serve."""
    configure_logging("info", "json")

    async def serve(settings: LoketSettings, stopping: asyncio.Event) -> None:
        async def tell_stop() -> None:
            await stopping.wait()
            print("stopping", flush=True)

        telling = asyncio.ensure_future(tell_stop())
        print("serving", flush=True)
        try:
            await SCENARIOS[name](stopping)
        finally:
            telling.cancel()

    run_until_signalled(serve, LoketSettings(stop_timeout_seconds=STOP_TIMEOUT))


class Child:
    """A process running one scenario; ``stop`` signals it and times how long it takes to be gone."""

    def __init__(self, name: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", f"from tests.unit.test_lifecycle import scenario; scenario({name!r})"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_for(self, line: str) -> None:
        told = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        assert told == line, (told, self.process.stderr.read() if self.process.poll() is not None else "")

    def signal(self, sig: signal.Signals = signal.SIGTERM) -> float:
        self.process.send_signal(sig)
        return time.monotonic()

    def exit(self, since: float) -> tuple[int, float, list[dict]]:
        """Exit code, seconds since ``since``, and the log lines."""
        code = self.process.wait(timeout=STOP_TIMEOUT + 30)
        took = time.monotonic() - since
        lines = [json.loads(line) for line in self.process.stderr.read().splitlines()  # type: ignore[union-attr]
                 if line.startswith("{")]
        return code, took, lines


@pytest.fixture
def start() -> Iterator[Callable[[str], Child]]:
    """Start a scenario's process and wait until it serves; one a test left running is killed after it."""
    children: list[Child] = []

    def started(name: str) -> Child:
        children.append(Child(name))
        children[-1].wait_for("serving")
        return children[-1]

    yield started
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
            child.process.wait()


def events(lines: list[dict]) -> list[str]:
    return [line["event"] for line in lines]


def test_a_service_that_stops_when_asked_exits_0_at_once(start):
    child = start("returns")
    code, took, told = child.exit(child.signal())
    assert code == 0 and took < STOP_TIMEOUT, (code, took, told)
    assert events(told) == ["stop_requested"]


def test_a_service_that_does_not_stop_is_cancelled_before_the_timeout_and_exits_0(start):
    child = start("ignores_the_stop")
    code, took, told = child.exit(child.signal())
    assert code == 0 and took < STOP_TIMEOUT + EXIT_SLACK, (code, took, told)
    assert events(told) == ["stop_requested", "stop_timed_out_cancelling"]


@pytest.mark.parametrize("name", ["refuses_to_be_cancelled", "blocks_the_event_loop"])
def test_a_service_that_cannot_be_cancelled_is_ended_hard_at_the_timeout(start, name):
    child = start(name)
    code, took, told = child.exit(child.signal())
    assert code == FORCED_EXIT and STOP_TIMEOUT <= took < STOP_TIMEOUT + EXIT_SLACK, (code, took, told)
    assert told[-1]["event"] == "stop_forced" and told[-1]["reason"] == "stop_timeout_exceeded"


def test_a_second_signal_ends_the_service_at_once(start):
    child = start("refuses_to_be_cancelled")
    child.signal()
    child.wait_for("stopping")
    code, took, told = child.exit(child.signal(signal.SIGINT))
    assert code == FORCED_EXIT and took < STOP_TIMEOUT / 2, (code, took, told)
    assert told[-1]["event"] == "stop_forced" and told[-1]["reason"] == "second_signal"


def test_a_service_stopped_while_waiting_for_a_dependency_stops_normally(start):
    child = start("stopped_waiting_for_a_dependency")
    code, took, told = child.exit(child.signal())
    assert code == 0 and took < STOP_TIMEOUT, (code, took, told)
    assert told[-1]["event"] == "stopped_while_waiting" and told[-1]["dependency"] == "broker"


def test_a_service_that_fails_by_itself_still_exits_with_an_error(start):
    code, _, _ = start("fails").exit(time.monotonic())
    assert code == 1
