"""The local stack for real: Kafka and PostgreSQL started, reused, used and stopped in a throw-away folder."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from loket import stack
from loket.stack import pg_home
from loket.stack.layout import KafkaPaths, PostgresPaths
from plumbing.settings import StackSettings
from tests.realstack import stack_settings_in

pytestmark = pytest.mark.integration


def _process_exists(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its parent to reap it counts as gone)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def settings(throwaway_stack: StackSettings) -> StackSettings:
    return throwaway_stack


@pytest.fixture
def private_settings() -> Iterator[StackSettings]:
    """A state folder inside a folder only root may enter, like a clone under /root in CI."""
    private = Path(tempfile.mkdtemp(prefix="loket-stack-private-"))
    private.chmod(0o700)
    settings = stack_settings_in(private / "clone" / ".loket")
    yield settings
    stack.down(settings)
    shutil.rmtree(pg_home.relocated_root(settings.state_dir).parent, ignore_errors=True)
    shutil.rmtree(private, ignore_errors=True)


async def _create_topic(bootstrap: str) -> str:
    topic = f"stack-test-{uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    return topic


async def _topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


async def _round_trip(bootstrap: str) -> bytes:
    topic = await _create_topic(bootstrap)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hallo loket", key=b"zaak-1")
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"stack-test-{uuid4().hex}", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    return message.value


async def _select_one(settings: StackSettings) -> int:
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        return await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


async def test_up_twice_serves_kafka_and_postgres_until_down_stops_both(settings: StackSettings) -> None:
    first = await stack.up(settings)
    assert first.running and first.kafka.ours and first.postgres.ours
    assert await stack.status(settings) == first

    again = await stack.up(settings)
    assert (again.kafka.pid, again.postgres.pid) == (first.kafka.pid, first.postgres.pid)

    assert await _round_trip(settings.kafka_bootstrap) == b"hallo loket"
    assert await _select_one(settings) == 1

    stopped = stack.down(settings)
    assert stopped == [f"kafka (pid {first.kafka.pid})", f"postgres (pid {first.postgres.pid})"]
    assert not _process_exists(first.kafka.pid) and not _process_exists(first.postgres.pid)
    assert not KafkaPaths.under(settings.state_dir).pid_file.exists()
    after = await stack.status(settings)
    assert not after.kafka.running and not after.postgres.running
    assert stack.down(settings) == []


async def test_topics_and_databases_survive_down_and_up(settings: StackSettings) -> None:
    await stack.up(settings)
    topic = await _create_topic(settings.kafka_bootstrap)
    stack.down(settings)

    await stack.up(settings)
    assert topic in await _topics(settings.kafka_bootstrap)
    assert await _select_one(settings) == 1


async def test_stale_pid_file_is_removed_and_reported_stopped(settings: StackSettings) -> None:
    dead = subprocess.Popen(["true"])  # any process that has come and gone
    dead.wait()
    pid_file = KafkaPaths.under(settings.state_dir).pid_file
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text(f"{dead.pid}\n")

    current = await stack.status(settings)

    assert not current.kafka.running
    assert not pid_file.exists()


async def test_down_only_kafka_leaves_postgres_running(settings: StackSettings) -> None:
    first = await stack.up(settings)

    assert stack.down(settings, only=("kafka",)) == [f"kafka (pid {first.kafka.pid})"]

    after = await stack.status(settings)
    assert not after.kafka.running
    assert after.postgres.running and after.postgres.pid == first.postgres.pid
    assert await _select_one(settings) == 1


def test_down_refuses_an_unknown_component(settings: StackSettings) -> None:
    with pytest.raises(ValueError, match="zookeeper"):
        stack.down(settings, only=("zookeeper",))


async def test_a_state_folder_others_cannot_enter_still_runs_the_stack(private_settings: StackSettings) -> None:
    """As root, PostgreSQL runs as another user who cannot enter the folder: its files go outside it.
    As a normal user the server runs as that user, who can: its files stay inside."""
    settings = private_settings
    inside = PostgresPaths.under(settings.state_dir)
    relocated = PostgresPaths(pg_home.relocated_root(settings.state_dir)) if os.geteuid() == 0 else inside

    first = await stack.up(settings)

    assert first.running and first.kafka.ours and first.postgres.ours
    assert first.postgres.log_path == relocated.server_log
    assert (relocated.data / "PG_VERSION").exists()
    assert inside.data.exists() == (relocated is inside)
    assert KafkaPaths.under(settings.state_dir).pid_file.exists()  # Kafka runs as root: it stays inside
    assert await _select_one(settings) == 1
    assert await stack.status(settings) == first

    assert stack.down(settings) == [f"kafka (pid {first.kafka.pid})", f"postgres (pid {first.postgres.pid})"]
    assert not _process_exists(first.postgres.pid)

    again = await stack.up(settings)  # finds the same cluster and its data again
    assert again.postgres.log_path == relocated.server_log
    assert await _select_one(settings) == 1

    stack.reset(settings)
    assert not relocated.data.exists()
