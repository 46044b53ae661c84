"""The local single-node Kafka broker: start it detached, find it again, tell whether it answers, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from loket.stack import kafka_setup
from loket.stack.exceptions import PortTaken, StartFailed
from loket.stack.layout import KafkaPaths
from loket.stack.ports import ephemeral_note, warn_if_ephemeral
from loket.stack.process import is_alive, read_pid, start_detached, stop_group, wait_until
from loket.stack.status import ComponentStatus
from plumbing.settings import StackSettings

log = structlog.get_logger(__name__)

# Part of the broker's command line; tells our broker apart from a process that inherited its old pid.
PROCESS_MARKER = "kafka.Kafka"
START_TIMEOUT_S = 90.0
STOP_GRACE_S = 30.0


def _where(settings: StackSettings) -> tuple[KafkaPaths, str, int, int | None]:
    """Our broker's files, the address it serves, and its pid if it runs."""
    paths = KafkaPaths.under(settings.state_dir)
    host, port = kafka_setup.parse_bootstrap(settings.kafka_bootstrap)
    return paths, host, port, read_pid(paths.pid_file, PROCESS_MARKER)


async def ensure_running(settings: StackSettings) -> ComponentStatus:
    """Reuse our running broker or an external one at the bootstrap address; otherwise start ours."""
    paths, host, port, pid = _where(settings)
    address = f"{host}:{port}"
    if pid is not None:
        log.info("kafka_reused", pid=pid, address=address)
        return _ours(paths, address, pid)
    if await answers(address):
        log.info("kafka_external_used", address=address)
        return ComponentStatus("kafka", address, running=True)
    warn_if_ephemeral("kafka", port, port + 1)
    for taken in (port, port + 1):
        if await _port_open(host, taken):
            why = ephemeral_note(taken)
            raise PortTaken(f"port {host}:{taken} is in use by something that is not a Kafka broker we can use"
                            + (f"; {why}" if why else ""))
    pid = await _start(paths, host, port)
    return _ours(paths, address, pid)


async def _start(paths: KafkaPaths, host: str, port: int) -> int:
    java = kafka_setup.java()
    await kafka_setup.ensure_jars(paths)
    kafka_setup.write_config(paths, host, port)
    await kafka_setup.ensure_formatted(paths, java)
    began = time.monotonic()
    pid = start_detached(kafka_setup.broker_command(paths, java), log_path=paths.stdout_log, pid_path=paths.pid_file)
    log.info("kafka_launched", pid=pid, address=f"{host}:{port}", log=str(paths.server_log))
    try:
        await wait_until(
            lambda: answers(f"{host}:{port}"),
            what="kafka",
            timeout_s=START_TIMEOUT_S,
            still_running=lambda: is_alive(pid),
            log_paths=(paths.stdout_log, paths.server_log),
        )
    except StartFailed:
        if is_alive(pid):
            _stop_pid(paths, pid)  # a broker that never answered would only hold the ports
        paths.pid_file.unlink(missing_ok=True)
        raise
    log.info("kafka_started", pid=pid, address=f"{host}:{port}", seconds=round(time.monotonic() - began, 1))
    return pid


async def answers(address: str, timeout_s: float = 5.0) -> bool:
    """Whether a Kafka broker at ``address`` answers a metadata request and names at least one broker."""
    host, port = kafka_setup.parse_bootstrap(address)
    # A plain connect first: aiokafka logs every refused bootstrap at ERROR, which would flood the wait loop.
    if not await _port_open(host, port):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=address, request_timeout_ms=int(timeout_s * 1000))
    try:
        cluster = await asyncio.wait_for(_describe(admin), timeout=timeout_s)
    except (TimeoutError, KafkaError, OSError):
        return False
    finally:
        await admin.close()
    return bool(cluster.get("brokers"))


async def _describe(admin: AIOKafkaAdminClient) -> dict:
    await admin.start()
    return await admin.describe_cluster()


async def _port_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2.0)
    except (TimeoutError, OSError):
        return False
    writer.close()
    # The peer may hang up first; it was listening, which is all we asked.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def stop(settings: StackSettings) -> int | None:
    """Stop the broker ``up`` started (by its pid file) and return its pid; None when none of ours runs."""
    paths = KafkaPaths.under(settings.state_dir)
    pid = read_pid(paths.pid_file, PROCESS_MARKER)
    if pid is None:
        return None
    _stop_pid(paths, pid)
    return pid


def _stop_pid(paths: KafkaPaths, pid: int) -> None:
    stop_group(pid, what="kafka", grace_s=STOP_GRACE_S)
    paths.pid_file.unlink(missing_ok=True)
    log.info("kafka_stopped", pid=pid)


async def describe(settings: StackSettings) -> ComponentStatus:
    """Whether our broker runs, or an external one answers at the bootstrap address."""
    paths, host, port, pid = _where(settings)
    address = f"{host}:{port}"
    if pid is not None:
        return _ours(paths, address, pid)
    return ComponentStatus("kafka", address, running=await answers(address))


def _ours(paths: KafkaPaths, address: str, pid: int) -> ComponentStatus:
    return ComponentStatus("kafka", address, running=True, pid=pid, ours=True, log_path=paths.server_log)
