"""Services and a broker that is away, on a stack of the test's own: a service started without a broker keeps
trying (live, not ready) and gets ready by itself once the broker is there; SIGTERM while the broker is down
stops it within the stop timeout."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from loket import stack
from plumbing.settings import KafkaSettings
from schemas.topics import DECISIONS
from tests.builders import PARTIES, ChannelSystemAuth, question
from tests.realstack import Topics, eventually, free_port, readiness, wait_healthy

pytestmark = pytest.mark.integration
#: LOKET_STOP_TIMEOUT_SECONDS's default: the bound every service is held to.
STOP_TIMEOUT = 10.0
#: Seconds the broker stays away while a service starts: beyond the 30 tries, a second apart, after which
#: start-up used to give up, and beyond the most a tool waits before it gives up (25 s, ``BOUNDED_ATTEMPTS``).
AWAY_AT_START = 35
BROKER_AWAY = "not ready: broker unreachable"


async def route_questions(topics: Topics, url: str) -> None:
    """Questions in flight: the router has batches in hand (sent but not committed) when the broker goes."""
    await topics.ask([question(f"q-{n}", party=PARTIES[n % 5], subject_code="paspoort-id") for n in range(3000)])
    await topics.read(DECISIONS, until=lambda rs: len(rs) >= 300, timeout=90)


async def take_questions(topics: Topics, url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30, auth=ChannelSystemAuth()) as client:
        assert (await client.post("/v1/questions", json={"channel": "web", "text": "Mijn kliko is kapot"})
                ).status_code == 202


async def question_left_unacknowledged(url: str) -> None:
    """A question the broker never acknowledged: its record stays in the producer, whose stop would flush it."""
    async with httpx.AsyncClient(base_url=url, timeout=30, auth=ChannelSystemAuth()) as client:
        assert (await client.post("/v1/questions", json={"channel": "web", "text": "Mijn kliko is kapot"})
                ).status_code == 503


async def nothing(url: str) -> None:
    pass


async def no_work(topics: Topics, url: str) -> None:
    pass  # a service whose own outage test stops it with work in hand


@dataclass(frozen=True)
class Subject:
    """A service under test: the setting of its HTTP port, the work it gets while the broker is there, what it
    does once the broker has gone, and the exit codes of a stop in time."""

    name: str
    port_setting: str
    work: Callable[[Topics, str], Awaitable[None]]
    after_broker_left: Callable[[str], Awaitable[None]] = nothing
    exit_codes: tuple[int, ...] = (0,)
    settings: dict[str, str] = field(default_factory=dict)


SUBJECTS = [
    Subject("router", "LOKET_ROUTER_PORT", route_questions, settings={"LOKET_ROUTER_BATCH_SIZE": "20"}),
    # uvicorn raises SIGTERM again once it has shut down: the intake ends by the signal.
    Subject("intake", "LOKET_INTAKE_PORT", take_questions, question_left_unacknowledged,
            exit_codes=(-signal.SIGTERM,)),
    Subject("norms", "LOKET_NORMS_PORT", no_work),
    Subject("cases", "LOKET_CASE_PORT", no_work),
]


@pytest.mark.parametrize("subject", SUBJECTS, ids=lambda subject: subject.name)
async def test_a_service_started_without_a_broker_gets_ready_by_itself_and_stops_in_time_while_it_is_down(
        subject, throwaway_stack, service, env, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = service(subject.name, LOKET_KAFKA_BOOTSTRAP=throwaway_stack.kafka_bootstrap,
                      **{subject.port_setting: str(port)}, **subject.settings)
    await wait_healthy(url, process=process)  # live without a broker
    assert await readiness(url) == BROKER_AWAY
    await asyncio.sleep(AWAY_AT_START)  # the outage's length is what is under test: past where start-up gave up
    assert process.poll() is None and await readiness(url) == BROKER_AWAY
    told = (tmp_path / f"{subject.name}.log").read_text()
    assert told.count("dependency_unavailable") == 1 and len(told.splitlines()) < 20, told

    await stack.up(throwaway_stack)

    async def ready() -> bool:
        return await readiness(url) == "ready"

    await eventually(ready, timeout=120, interval=1.0)  # by itself, within the capped backoff (30 s)
    await subject.work(Topics(KafkaSettings(kafka_bootstrap=throwaway_stack.kafka_bootstrap,
                                            topic_prefix=env["LOKET_TOPIC_PREFIX"], topic_partitions=2)), url)

    stack.down(throwaway_stack, only=("kafka",))

    async def not_ready() -> bool:
        return await readiness(url) == BROKER_AWAY

    await eventually(not_ready, timeout=60, interval=1.0)  # it knows the broker is down
    await subject.after_broker_left(url)
    signalled = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, 60)
    took = time.monotonic() - signalled

    assert took < STOP_TIMEOUT and code in subject.exit_codes, (took, code)
    print(f"{subject.name} stopped {took:.1f}s after SIGTERM with the broker down, exit code {code}")
