"""Starting and stopping Kafka clients while the broker is away: a service keeps trying (quietly) until it is
asked to stop, a tool gives up with a clear error, and no stop waits longer than it is given."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaError
from structlog.testing import capture_logs

from plumbing import kafka
from plumbing.exceptions import KafkaUnavailable, Stopped
from plumbing.kafka import BOUNDED_ATTEMPTS, ensure_topics, start_producer, stop_client
from plumbing.outage import Outage
from plumbing.settings import KafkaSettings
from schemas.topics import CONTACTS, DECISIONS
from tests.realstack import eventually

SETTINGS = KafkaSettings(kafka_bootstrap="broker.invalid:9092", topic_prefix="p.", topic_partitions=2)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr("plumbing.retry.BACKOFF_BASE", 0.001)
    monkeypatch.setattr("plumbing.retry.BACKOFF_CAP", 0.005)


class Clients:
    """Makes stand-in producers whose start fails the first ``failures`` times (``None``: always), or hangs."""

    def __init__(self, failures: int | None, hang: bool = False) -> None:
        self.failures, self.hang = failures, hang
        self.made: list[StandInProducer] = []

    def __call__(self, settings: KafkaSettings, **overrides: object) -> StandInProducer:
        self.made.append(StandInProducer(self))
        return self.made[-1]


class StandInProducer:
    def __init__(self, clients: Clients) -> None:
        self.clients, self.stopped = clients, False

    async def start(self) -> None:
        if self.clients.hang:
            await asyncio.Event().wait()
        if self.clients.failures is None or len(self.clients.made) <= self.clients.failures:
            raise KafkaConnectionError("Unable to bootstrap")

    async def stop(self) -> None:
        self.stopped = True


async def test_a_service_keeps_trying_past_a_tools_attempts_and_tells_the_outage_once(monkeypatch):
    clients = Clients(failures=BOUNDED_ATTEMPTS * 2)
    monkeypatch.setattr(kafka, "make_producer", clients)
    with capture_logs() as told:
        producer = await start_producer(SETTINGS, stopping=asyncio.Event())
    assert producer is clients.made[-1] and len(clients.made) == BOUNDED_ATTEMPTS * 2 + 1
    assert all(failed.stopped for failed in clients.made[:-1]) and not producer.stopped
    assert [line["event"] for line in told] == ["dependency_unavailable", "dependency_available_again"]


async def test_a_services_own_outage_says_the_broker_is_away_while_start_up_waits_for_it(monkeypatch):
    clients = Clients(failures=None)
    monkeypatch.setattr(kafka, "make_producer", clients)
    broker, stopping = Outage("broker"), asyncio.Event()
    starting = asyncio.ensure_future(start_producer(SETTINGS, stopping=stopping, outage=broker))
    await eventually(lambda: broker.away, timeout=5, interval=0.01)
    clients.failures = len(clients.made)  # the broker is back
    await starting
    assert not broker.away


async def test_a_tool_gives_up_after_its_attempts_naming_the_broker(monkeypatch):
    clients = Clients(failures=None)
    monkeypatch.setattr(kafka, "make_producer", clients)
    with pytest.raises(KafkaUnavailable, match="cannot reach Kafka at broker.invalid:9092 in 3 attempts"):
        await start_producer(SETTINGS, attempts=3)
    assert len(clients.made) == 3 and all(failed.stopped for failed in clients.made)


@pytest.mark.parametrize("hang", [False, True], ids=["refused", "hanging"])
async def test_a_stop_ends_a_start_that_waits_for_the_broker_at_once(monkeypatch, hang):
    clients = Clients(failures=None, hang=hang)
    monkeypatch.setattr(kafka, "make_producer", clients)
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, stopping.set)
    started = time.monotonic()
    with pytest.raises(Stopped):
        await start_producer(SETTINGS, stopping=stopping)
    assert time.monotonic() - started < 1.5
    assert clients.made and all(attempt.stopped for attempt in clients.made)


class StandInAdmin:
    """An admin client whose broker has ``topics``; listing fails while ``away`` counts down."""

    away = 0
    topics: dict[str, int] = {}
    closed = 0

    def __init__(self, **config: object) -> None:
        pass

    async def start(self) -> None:
        pass

    async def list_topics(self) -> list[str]:
        if StandInAdmin.away:
            StandInAdmin.away -= 1
            raise KafkaError("Unable to get cluster metadata over all known brokers")
        return list(StandInAdmin.topics)

    async def describe_topics(self, names: list[str]) -> list[dict]:
        return [{"topic": name, "partitions": [{}] * StandInAdmin.topics[name]} for name in names]

    async def create_topics(self, new: list) -> None:
        StandInAdmin.topics.update((topic.name, topic.num_partitions) for topic in new)

    async def close(self) -> None:
        StandInAdmin.closed += 1


async def test_ensure_topics_tries_again_while_the_broker_gives_no_metadata(monkeypatch):
    monkeypatch.setattr(kafka, "AIOKafkaAdminClient", StandInAdmin)
    monkeypatch.setattr(StandInAdmin, "topics", {"p.loket.contacts.v1": 2})
    monkeypatch.setattr(StandInAdmin, "away", 3)
    monkeypatch.setattr(StandInAdmin, "closed", 0)
    created = await ensure_topics(SETTINGS, [CONTACTS, DECISIONS], stopping=asyncio.Event())
    assert created == ["p.loket.decisions.v1"] and StandInAdmin.topics["p.loket.decisions.v1"] == 2
    assert StandInAdmin.closed == 4  # every attempt's client


async def test_a_stop_that_hangs_is_abandoned_after_its_timeout():
    cancelled = asyncio.Event()

    class Hangs:
        async def stop(self) -> None:
            try:
                await asyncio.Event().wait()
            finally:
                cancelled.set()

    started = time.monotonic()
    with capture_logs() as told:
        await stop_client(Hangs(), 0.1)  # type: ignore[arg-type]
    assert time.monotonic() - started < 1 and cancelled.is_set()
    assert [line["event"] for line in told] == ["kafka_client_stop_abandoned"]


async def test_a_group_member_waiting_for_an_absent_dependency_is_not_taken_out_of_its_group_for_not_fetching():
    from plumbing.kafka import MAX_POLL_INTERVAL_MS, group_consumer

    consumer = group_consumer(KafkaSettings(topic_prefix="t."), "cases")
    assert consumer._max_poll_interval_ms == MAX_POLL_INTERVAL_MS >= 24 * 60 * 60 * 1000  # aiokafka's default: 5 min
    assert consumer._group_id == "t.loket-cases" and consumer._enable_auto_commit is False
