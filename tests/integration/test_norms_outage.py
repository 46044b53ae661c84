"""The norms service and a broker that is away, on a stack of the test's own: it rides out a minute without the
broker, says so a handful of times, and counts every decision once; SIGTERM stops it in time meanwhile."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

from loket import stack
from plumbing.kafka import ensure_topics
from plumbing.lifecycle import CANCEL_SHARE
from plumbing.settings import KafkaSettings, StackSettings
from schemas import DecisionData, Outcome, RoutingDecided
from schemas.topics import DEAD_LETTERS, DECISIONS
from services.norms.app import READER_GROUP
from tests.builders import NOW, SOURCE
from tests.realstack import Topics, decisions_counted, eventually, free_port, health, readiness, wait_healthy

pytestmark = pytest.mark.integration
#: Seconds the broker stays away: beyond every client timeout (aiokafka's requests: 30 s).
OUTAGE = 60
#: LOKET_STOP_TIMEOUT_SECONDS's default: the bound the service is held to.
STOP_TIMEOUT = 10.0
#: Seconds after which the lifecycle cancels a service that has not stopped by itself: the norms stop before.
ON_ITS_OWN = STOP_TIMEOUT * (1 - CANCEL_SHARE)
#: Most lines the outage may put in the log: each kind of complaint once, a summary, our start and end.
MOST_LINES_ABOUT_IT = 10
#: What a line about the outage says: our own outage lines, any Kafka client's complaint, a traceback.
OUTAGE_WORDS = ("dependency_", "broker", "aiokafka", "faust", "mode.", "Kafka", "Connection", "Timeout",
                "Traceback")
BROKER_AWAY = "not ready: broker unreachable"
OUTCOMES = list(Outcome)


def decisions(tag: str, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` decisions as (key, value) records, of every outcome in turn; ids ``d-<tag>-<n>``."""
    records = []
    for n in range(count):
        data = DecisionData(question_id=f"q-{tag}-{n}", contact_id=f"c-{tag}-{n}", channel="web",
                            subject_code="paspoort-id", outcome=OUTCOMES[n % len(OUTCOMES)], rule="escalation",
                            reason="test", decided_at=NOW)
        event = RoutingDecided.create(source=SOURCE, data=data, id=f"d-{tag}-{n}", time=NOW)
        records.append((data.contact_id.encode(), event.to_bytes()))
    return records


async def norms_on(throwaway_stack: StackSettings, service: Callable[..., subprocess.Popen],
                   env: dict[str, str]) -> tuple[Topics, subprocess.Popen, str]:
    """The test's stack up, the deployment's topics on it, and ``loket norms`` on them, ready."""
    await stack.up(throwaway_stack)
    topics = Topics(KafkaSettings(kafka_bootstrap=throwaway_stack.kafka_bootstrap,
                                  topic_prefix=env["LOKET_TOPIC_PREFIX"], topic_partitions=2))
    await ensure_topics(topics.settings, [DECISIONS, DEAD_LETTERS])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    norms = service("norms", LOKET_KAFKA_BOOTSTRAP=throwaway_stack.kafka_bootstrap, LOKET_NORMS_PORT=str(port),
                    LOKET_NORMS_BATCH_SIZE="50")
    await wait_healthy(url, process=norms)
    await eventually(lambda: _is_ready(url), timeout=60, interval=0.5)
    return topics, norms, url


async def _is_ready(url: str) -> bool:
    return await readiness(url) == "ready"


async def _broker_away(url: str) -> bool:
    return await readiness(url) == BROKER_AWAY


async def _counts(url: str, expected: int) -> bool:
    return await decisions_counted(url) == expected


async def test_norms_ride_out_a_minute_without_the_broker_and_count_every_decision_once(
        throwaway_stack, service, env, tmp_path):
    topics, norms, url = await norms_on(throwaway_stack, service, env)
    before, after = decisions("before", 2000), decisions("after", 500)
    again = before[:100]  # delivered twice: the metric counts each decision id once
    await topics.produce_many(DECISIONS, before)
    await eventually(lambda: _counts(url, len(before)), timeout=60, interval=0.5)
    log = tmp_path / "norms.log"
    quiet_until = len(log.read_text().splitlines())

    stack.down(throwaway_stack, only=("kafka",))
    went = time.monotonic()
    await eventually(lambda: _broker_away(url), timeout=30, interval=1.0)
    assert (await health(url, "live")).status_code == 200
    # The outage's length is what is under test: a minute, beyond every client timeout, whatever else happens.
    await asyncio.sleep(OUTAGE - (time.monotonic() - went))
    assert norms.poll() is None, "the norms service exited while the broker was away"
    assert await readiness(url) == BROKER_AWAY and (await health(url, "live")).status_code == 200
    await stack.up(throwaway_stack)

    await topics.produce_many(DECISIONS, after + again)
    await eventually(lambda: _counts(url, len(before) + len(after)), timeout=120, interval=1.0)
    await eventually(lambda: topics.consumed_all(READER_GROUP, DECISIONS), timeout=60, interval=1.0)
    assert await decisions_counted(url) == len(before) + len(after)  # still: nothing was counted twice meanwhile
    assert await readiness(url) == "ready" and norms.poll() is None
    told = log.read_text().splitlines()[quiet_until:]
    about_it = [line for line in told if any(word in line for word in OUTAGE_WORDS)]
    assert len(about_it) <= MOST_LINES_ABOUT_IT, "\n".join(about_it[:40])


async def test_sigterm_while_the_broker_is_down_stops_the_norms_within_the_stop_timeout(
        throwaway_stack, service, env):
    topics, norms, url = await norms_on(throwaway_stack, service, env)
    await topics.produce_many(DECISIONS, decisions("before", 500))
    await eventually(lambda: _counts(url, 500), timeout=60, interval=0.5)

    stack.down(throwaway_stack, only=("kafka",))
    await eventually(lambda: _broker_away(url), timeout=30, interval=1.0)  # it knows the broker is down
    signalled = time.monotonic()
    norms.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(norms.wait, 60)
    took = time.monotonic() - signalled

    assert took < ON_ITS_OWN and code == 0, (took, code)  # by itself: neither cancelled nor ended hard (124)
