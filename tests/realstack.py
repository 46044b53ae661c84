"""Fixtures on the real stack: Kafka and PostgreSQL started once per test session by ``loket.stack``,
and per test its own topic prefix (so its own topics and consumer groups) and its own database."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient

from loket import stack
from loket.stack.ports import ephemeral_range
from plumbing.kafka import (CLOUDEVENT_HEADERS, Headers, Record, delete_deployment_topics, ensure_topics, group_id,
                            open_reader, send_all, topic_name)
from plumbing import calendar
from plumbing.settings import StackSettings, database_on_same_server
from schemas import QuestionAsked
from schemas.topics import CONTACTS, FIXED_TOPICS, TopicSpec
from services.case.app import migrate_database
from services.case.settings import CaseSettings
from tests.builders import ChannelSystemAuth


@pytest.fixture(scope="session")
async def real_stack() -> AsyncIterator[StackSettings]:
    """The real broker and database; started if not running, and stopped again only if we started them."""
    settings = StackSettings()
    before = await stack.status(settings)
    print("\n" + str(await stack.up(settings)))
    yield settings
    if not before.running:
        stack.down(settings)


@pytest.fixture
async def env(real_stack: StackSettings) -> AsyncIterator[dict[str, str]]:
    """``LOKET_*`` variables of an isolated deployment: own topic prefix, own database, topics created."""
    tag = uuid.uuid4().hex[:10]
    admin_url = real_stack.database_url.get_secret_value()
    database = f"test_{tag}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    variables = {
        "LOKET_KAFKA_BOOTSTRAP": real_stack.kafka_bootstrap,
        "LOKET_TOPIC_PREFIX": f"t{tag}.",
        "LOKET_TOPIC_PARTITIONS": "2",
        "LOKET_DATABASE_URL": database_on_same_server(admin_url, database),
    }
    settings = CaseSettings(**{k.removeprefix("LOKET_").lower(): v for k, v in variables.items()})
    await migrate_database(settings)
    await ensure_topics(settings, FIXED_TOPICS)
    yield variables
    await delete_deployment_topics(settings)
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
def case_settings(env: dict[str, str]) -> CaseSettings:
    return CaseSettings(**{k.removeprefix("LOKET_").lower(): v for k, v in env.items()})


class Topics:
    """Produce to and read from one isolated deployment's topics."""

    def __init__(self, settings: CaseSettings) -> None:
        self.settings = settings

    def name(self, spec: TopicSpec) -> str:
        return topic_name(self.settings, spec)

    async def produce(self, spec: TopicSpec, value: bytes, key: bytes | None = None,
                      headers: Headers = CLOUDEVENT_HEADERS) -> None:
        await self.produce_many(spec, [(key, value)], headers=headers)

    async def ask(self, questions: Iterable[QuestionAsked]) -> None:
        """Questions onto the contacts topic as the intake puts them there: keyed by their party's pseudonym."""
        await self.produce_many(CONTACTS, [(q.data.partition_key().encode(), q.to_bytes()) for q in questions])

    async def produce_many(self, spec: TopicSpec, records: list[tuple[bytes | None, bytes]],
                           headers: Headers = CLOUDEVENT_HEADERS) -> None:
        """Produce (key, value) records with one producer, waiting once for all of them; as structured-mode
        CloudEvents unless other ``headers`` are given."""
        producer = AIOKafkaProducer(bootstrap_servers=self.settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await send_all(producer, [Record(self.name(spec), key, value, headers=headers) for key, value in records])
        finally:
            await producer.stop()

    async def count(self, spec: TopicSpec) -> int:
        """How many records the topic holds now."""
        consumer = await open_reader(self.settings, spec)
        try:
            return sum((await consumer.end_offsets(list(consumer.assignment()))).values())
        finally:
            await consumer.stop()

    async def committed(self, service: str, spec: TopicSpec) -> dict[int, int]:
        """A service's consumer group's committed offset of each partition of the topic that has one."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group_id(self.settings, service))
        finally:
            await admin.close()
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == self.name(spec)}

    async def consumed_all(self, service: str, spec: TopicSpec) -> bool:
        """Whether a service's consumer group has committed every record the topic holds now."""
        reader = await open_reader(self.settings, spec)
        try:
            ends = await reader.end_offsets(list(reader.assignment()))
        finally:
            await reader.stop()
        committed = await self.committed(service, spec)
        return all(committed.get(tp.partition, -1) >= end for tp, end in ends.items() if end)

    async def group_members(self, service: str) -> tuple[str, int]:
        """The state of a service's consumer group ("Stable", "PreparingRebalance"…) and its member count."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:
            [response] = await admin.describe_consumer_groups([group_id(self.settings, service)])
            [group] = response.to_object()["groups"]
            return group["state"], len(group["members"])
        finally:
            await admin.close()

    async def read(self, spec: TopicSpec, until: Callable[[list[ConsumerRecord]], bool],
                   timeout: float = 60.0) -> list[ConsumerRecord]:
        """Every record of the topic from the start, until ``until(records)`` holds or the timeout fails the test."""
        consumer = await open_reader(self.settings, spec)
        name = self.name(spec)
        try:
            records: list[ConsumerRecord] = []
            deadline = time.monotonic() + timeout
            while not until(records):
                if time.monotonic() > deadline:
                    raise AssertionError(f"{name}: condition not met in {timeout:.0f}s; got {len(records)} records")
                for batch in (await consumer.getmany(timeout_ms=300)).values():
                    records.extend(batch)
            return records
        finally:
            await consumer.stop()


@pytest.fixture
def topics(case_settings: CaseSettings) -> Topics:
    return Topics(case_settings)


#: The settings of every service's HTTP port.
HTTP_PORTS = ("LOKET_INTAKE_PORT", "LOKET_ROUTER_PORT", "LOKET_CASE_PORT", "LOKET_NORMS_PORT")


@pytest.fixture
def service(env: dict[str, str], tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:  # type: ignore[no-untyped-def]
    """Start ``loket <name>`` processes in the test's deployment; all are stopped after the test.

    Their logs and working files stay in the test's own folder, not the user's state folder.
    """
    started: list[subprocess.Popen] = []
    own = {"LOKET_STATE_DIR": str(tmp_path / "state")}

    def start(name: str, **extra: str) -> subprocess.Popen:
        extra = {**http_ports(), **extra}  # each process its own, unless the test names one: no clashes
        log = open(tmp_path / f"{name}.log", "ab")
        process = subprocess.Popen([sys.executable, "-m", "loket", name], env={**os.environ, **env, **own, **extra},
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    shutil.rmtree(own["LOKET_STATE_DIR"], ignore_errors=True)  # working files go with the test; logs stay


def http_ports() -> dict[str, str]:
    """A free port for every service's HTTP server, as ``LOKET_*_PORT`` settings."""
    return {name: str(free_port()) for name in HTTP_PORTS}


#: Ports ``free_port`` handed out in this test session: a server started later may not have bound its port yet.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port for a test's server, outside the ephemeral range and not handed out before. A port the kernel
    picked (bind to 0) lies in the ephemeral range, where an outgoing connection could take it as its source port
    before the server binds it (seen in CI: the case service's HTTP port taken, 'address already in use')."""
    return listening_port()


async def eventually(check: Callable[[], object], timeout: float = 60.0, interval: float = 0.3) -> object:
    """Poll an (async) check until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout:.0f}s")
        await asyncio.sleep(interval)


def last_weekday() -> str:
    """``plumbing.calendar.last_weekday``, ISO, as ``loket simulate --date`` takes it."""
    return calendar.last_weekday().isoformat()


async def health(url: str, which: str = "ready") -> httpx.Response:
    """A service's ``/health/<which>`` answer (a readiness probe may wait a few seconds for a dependency)."""
    async with httpx.AsyncClient(timeout=15) as client:
        return await client.get(f"{url}/health/{which}")


async def readiness(url: str) -> str:
    """``ready``, the reason a service gives for not being ready, or ``unreachable`` when it does not answer."""
    try:
        answer = await health(url, "ready")
    except httpx.TransportError:
        return "unreachable"
    return "ready" if answer.status_code == 200 else answer.json()["detail"]


async def metrics_sum(url: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` on a service's ``/metrics`` whose labels include ``labels``."""
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == name and labels.items() <= s.labels.items())


async def decisions_counted(norms: str) -> float:
    """``loket_decisions_total`` on the norms service's ``/metrics``, over every outcome, rule and channel."""
    return await metrics_sum(norms, "loket_decisions_total")


async def deployment_on(throwaway: StackSettings, prefix: str) -> CaseSettings:
    """A test's own stack up, with a deployment's topics on it (under ``prefix``) and its database."""
    await stack.up(throwaway)
    settings = CaseSettings(kafka_bootstrap=throwaway.kafka_bootstrap, topic_prefix=prefix, topic_partitions=2,
                            database_url=throwaway.database_url)
    await ensure_topics(settings, FIXED_TOPICS)
    return settings


def deployment_env(settings: CaseSettings) -> dict[str, str]:
    """The ``LOKET_*`` variables that put a service on a deployment."""
    return {"LOKET_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "LOKET_TOPIC_PREFIX": settings.topic_prefix,
            "LOKET_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "LOKET_DATABASE_URL": settings.database_url.get_secret_value()}


async def wait_healthy(url: str, timeout: float = 90.0, process: subprocess.Popen | None = None) -> None:
    """Wait until a Loket HTTP service at ``url`` answers its health check; fail the test after ``timeout``,
    or at once when its ``process`` has stopped."""

    async def healthy() -> bool:
        assert process is None or process.poll() is None, "the service stopped; its log is in the test's folder"
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{url}/health")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(healthy, timeout=timeout)


#: The pseudonym key of the in-process intake the integration tests talk to.
INTAKE_TEST_SECRET = "integration-secret"


@pytest.fixture
async def intake_client(env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the intake API, run in this process on the test's deployment and the real broker."""
    from services.intake.http import create_app
    from services.intake.settings import IntakeSettings

    settings = IntakeSettings(**{k.removeprefix("LOKET_").lower(): v for k, v in env.items()},
                              pseudonym_secret=INTAKE_TEST_SECRET)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake",
                                     auth=ChannelSystemAuth()) as client:
            yield client


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def listening_port(pair: bool = False, avoid: tuple[int, ...] = ()) -> int:
    """A free port for a server (and the next one free too, for Kafka's controller) outside the ephemeral range,
    where a client reconnecting to a stopped server could otherwise be given it as its own source port and hold
    it; never one of the default ports."""
    ephemeral = ephemeral_range()
    start = 20_000 + os.getpid() % 5_000 * 2
    for port in range(start, 65_000, 2):
        if port in ephemeral or port + 1 in ephemeral or {port, port + 1} & {5432, 9092, 9093, *avoid, *_HANDED_OUT}:
            continue
        if _port_free(port) and (not pair or _port_free(port + 1)):
            _HANDED_OUT.update((port, port + 1))  # its server may not have bound it yet: never hand it out again
            return port
    raise RuntimeError("no free port outside the ephemeral range")


def stack_settings_in(state: Path) -> StackSettings:
    """A stack of its own in ``state``: Kafka and PostgreSQL on free ports of their own."""
    kafka_port = listening_port(pair=True)
    pg_port = listening_port(avoid=(kafka_port, kafka_port + 1))
    return StackSettings(kafka_bootstrap=f"127.0.0.1:{kafka_port}",
                         database_url=f"postgresql://loket:loket@127.0.0.1:{pg_port}/loket", state_dir=state)


@pytest.fixture
def throwaway_stack() -> Iterator[StackSettings]:
    """Settings of a Kafka and PostgreSQL of the test's own, in a throw-away folder, stopped after the test:
    for tests that stop and start servers (not started here: the test brings it up)."""
    # Not tmp_path: pytest makes its base folder private, and as root PostgreSQL runs as another user who
    # must be able to walk into the state folder.
    state = Path(tempfile.mkdtemp(prefix="loket-stack-test-"))
    state.chmod(0o755)
    settings = stack_settings_in(state)
    yield settings
    stack.down(settings)  # nothing may keep running when a test failed halfway
    shutil.rmtree(state, ignore_errors=True)
