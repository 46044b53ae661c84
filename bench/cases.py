"""Throughput of the case service into PostgreSQL against a raw asyncpg floor, on the same servers in one run.

    python bench/cases.py [--requests 50000] [--partitions 4]

Needs the local stack (``loket stack up``). The floor writes the very rows the case service writes (the inbox
entry, the case, its personal data, its first history row, its deadline alarms and its outbox events) with
``copy_records_to_table``, in transactions of the service's
batch size, into a database of its own. The case service runs as in production (``loket cases``, one
process) on requests produced beforehand; cases/s is measured from its first stored case to the last, and (as
a second figure) to the moment its outbox relay has published every case's events. Prints the floor, both, and
the ratio of stored to floor: absolute numbers depend on the machine and its noise, the ratio is what to compare.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
import uuid

import asyncpg
import typer
from aiokafka import AIOKafkaProducer
from rich.console import Console

from plumbing.kafka import CLOUDEVENT_HEADERS, delete_deployment_topics, ensure_topics, topic_name
from plumbing.settings import database_on_same_server
from schemas import OpenCase, OpenCaseData, PartyRef
from schemas.envelope import source_urn
from schemas.topics import CASE_REQUESTS, FIXED_TOPICS
from services.case.app import migrate_database
from services.case.domain import open_case
from services.case.settings import CaseSettings
from services.case.store import table_rows

console = Console()
BATCH = CaseSettings().case_batch_size


def requests(count: int, source: str) -> list[OpenCase]:
    """``count`` case requests as the router sends them, nine in ten of a known party."""
    now = dt.datetime.now(dt.timezone.utc)
    made = []
    for n in range(count):
        party = PartyRef(pseudonym=f"{n % 5000:064x}", identified_by="bsn") if n % 10 else None
        data = OpenCaseData(case_id=f"zaak-{n}", question_id=f"q-{n}", contact_id=f"c-{n}", channel="phone",
                            subject_code="grofvuil", case_type="ophalen-grofvuil", department="openbare-ruimte",
                            due_date=now.date() + dt.timedelta(days=7), asked_on=now.date(), norm_working_days=5,
                            question="Mijn bankstel moet weg",
                            party=party, requested_at=now)
        made.append(OpenCase.create(source=source, data=data, subject=data.case_id, time=now, id=f"r-{n}"))
    return made


async def produce(settings: CaseSettings, made: list[OpenCase]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=20, max_batch_size=262144)
    await producer.start()
    try:
        pending = [await producer.send(topic_name(settings, CASE_REQUESTS), r.to_bytes(), key=r.data.case_id.encode(),
                                       headers=list(CLOUDEVENT_HEADERS)) for r in made]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def floor(settings: CaseSettings, made: list[OpenCase], source: str) -> float:
    """Rows/s of the same rows written straight with asyncpg's COPY, a transaction per batch."""
    now = dt.datetime.now(dt.timezone.utc)
    cases = [open_case(r, source=source, now=now) for r in made]
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        started = time.perf_counter()
        for at in range(0, len(cases), BATCH):
            async with conn.transaction():
                for table, columns, rows in table_rows(cases[at:at + BATCH]):
                    await conn.copy_records_to_table(table, columns=columns, records=rows)
        return len(cases) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def service_run(settings: CaseSettings, count: int, env: dict[str, str]) -> tuple[float, float]:
    """Start ``loket cases`` on the produced requests. Cases/s from its first stored case to the count-th, and
    to the moment its relay has published the last of their events (the outbox has none waiting)."""
    process = subprocess.Popen([sys.executable, "-m", "loket", "cases"], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        started = stored = None
        while True:
            done = await conn.fetchval("SELECT count(*) FROM cases") if await _migrated(conn) else 0
            if done and started is None:
                started = time.perf_counter()
            if stored is None and done >= count:
                stored = count / (time.perf_counter() - started)
            if stored is not None and not await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"):
                return stored, count / (time.perf_counter() - started)
            if process.poll() is not None:
                raise RuntimeError(f"loket cases stopped (exit code {process.returncode})")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
        process.terminate()
        process.wait(timeout=30)


async def _migrated(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass('cases') IS NOT NULL"))


async def bench(count: int, partitions: int) -> None:
    tag = uuid.uuid4().hex[:8]
    base = CaseSettings()
    admin_url = base.database_url.get_secret_value()
    names = {"service": f"bench_{tag}_service", "floor": f"bench_{tag}_floor"}
    admin = await asyncpg.connect(admin_url)
    try:
        for name in names.values():
            await admin.execute(f'CREATE DATABASE "{name}"')
        service = CaseSettings(topic_prefix=f"bench{tag}.", topic_partitions=partitions,
                               database_url=database_on_same_server(admin_url, names["service"]))
        floor_settings = CaseSettings(database_url=database_on_same_server(admin_url, names["floor"]))
        await migrate_database(floor_settings)
        source = source_urn(base.oin, "bench")
        made = requests(count, source)
        await ensure_topics(service, FIXED_TOPICS)
        try:
            with console.status(f"raw asyncpg COPY of {count:,} cases…"):
                raw = await floor(floor_settings, made, source)
            console.print(f"raw asyncpg COPY floor:  {raw:>10,.0f} cases/s")
            with console.status(f"producing {count:,} case requests…"):
                await produce(service, made)
            env = {"LOKET_TOPIC_PREFIX": service.topic_prefix, "LOKET_TOPIC_PARTITIONS": str(partitions),
                   "LOKET_DATABASE_URL": service.database_url.get_secret_value(), "LOKET_LOG_LEVEL": "warning",
                   "LOKET_CASE_PORT": "0"}
            with console.status("loket cases…"):
                stored, announced = await service_run(service, count, env)
            console.print(f"loket cases:             {stored:>10,.0f} cases/s stored")
            console.print(f"                         {announced:>10,.0f} cases/s stored and announced (outbox relayed)")
        finally:
            await delete_deployment_topics(service)
    finally:
        for name in names.values():
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    console.print(f"ratio service/floor:     {stored / raw:>10.2f}   ({count:,} requests, {partitions} partitions, "
                  f"batch {BATCH}, {os.cpu_count()} cores)")


def main(requests_: int = typer.Option(50_000, "--requests", help="Case requests to push through."),
         partitions: int = typer.Option(4, help="Partitions of the benchmark's topics.")) -> None:
    asyncio.run(bench(requests_, partitions))


if __name__ == "__main__":
    typer.run(main)
