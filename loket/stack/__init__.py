"""The local stack for development, the demo and the tests: one Kafka broker and PostgreSQL, no Docker.

``up`` starts what is missing and reuses what already runs; ``down`` stops exactly what ``up`` started;
data survives ``down`` and is only removed by ``reset``. Kafka comes from Maven Central, PostgreSQL
from the installed binaries.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Collection

import structlog

from loket.stack import kafka, pg_home, postgres
from loket.stack.exceptions import StackError
from loket.stack.layout import KafkaPaths
from loket.stack.status import ComponentStatus, StackStatus
from plumbing.settings import StackSettings

__all__ = ["COMPONENTS", "ComponentStatus", "StackError", "StackStatus", "down", "reset", "status", "up"]

log = structlog.get_logger(__name__)

COMPONENTS = ("kafka", "postgres")


async def up(settings: StackSettings) -> StackStatus:
    """Make Kafka and PostgreSQL answer at the configured addresses; harmless when they already do."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    postgres_status = await postgres.ensure_running(settings)
    kafka_status = await kafka.ensure_running(settings)
    stack = StackStatus(kafka=kafka_status, postgres=postgres_status)
    log.info("stack_up_completed", kafka=kafka_status.address, postgres=postgres_status.address)
    return stack


async def status(settings: StackSettings) -> StackStatus:
    """What runs where, without starting or stopping anything."""
    kafka_status, postgres_status = await asyncio.gather(kafka.describe(settings), postgres.describe(settings))
    return StackStatus(kafka=kafka_status, postgres=postgres_status)


def down(settings: StackSettings, only: Collection[str] = COMPONENTS) -> list[str]:
    """Stop what ``up`` started (never an external server) and say what was stopped; data is kept.

    ``only`` limits it to some components, e.g. those a caller found stopped before its own ``up``.
    """
    unknown = set(only) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"unknown stack components {sorted(unknown)}; choose from {COMPONENTS}")
    stopped = []
    for name, stop in (("kafka", kafka.stop), ("postgres", postgres.stop)):
        pid = stop(settings) if name in only else None
        if pid is not None:
            stopped.append(f"{name} (pid {pid})")
    log.info("stack_down_completed", stopped=stopped)
    return stopped


def reset(settings: StackSettings) -> list[str]:
    """``down``, then delete the Kafka and PostgreSQL data; the resolved jars stay for the next ``up``.

    A PostgreSQL home kept outside the state folder (see ``pg_home``) is removed whole.
    """
    stopped = down(settings)
    kafka_paths = KafkaPaths.under(settings.state_dir)
    postgres_paths = pg_home.locate(settings.state_dir)
    for folder in (kafka_paths.data, postgres_paths.data):
        shutil.rmtree(folder, ignore_errors=True)
    postgres_paths.external_marker.unlink(missing_ok=True)
    pg_home.forget(postgres_paths, settings.state_dir)
    log.info("stack_data_removed", kafka=str(kafka_paths.data), postgres=str(postgres_paths.data))
    return stopped
