"""The norms service killed with SIGKILL mid-stream, twice, while a simulated day of Zeventerpen flows through the
router and the case service: once everything is read, its thermometer equals ``loket norms rebuild`` at the same
moment, figure for figure, and so do the norm figures on its /metrics."""

import asyncio
import json
import os
import signal
import subprocess
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.norms.app import READER_GROUP
from services.norms.reading import READ_TOPICS
from tests.integration.test_simulator import simulate
from tests.realstack import eventually, free_port, last_weekday, wait_healthy

pytestmark = pytest.mark.integration
SEED = 11
#: Records of the contacts topic the norms have committed when each kill comes: both mid-stream.
KILLS = (300, 1200)
#: 9 simulated hours in about 40 seconds: the kills fall while the day is still coming in.
SPEED = "800"
BATCH = {"LOKET_NORMS_BATCH_SIZE": "20"}


async def test_the_norms_killed_twice_mid_stream_equal_a_rebuild_from_the_topics(service, topics, env):
    print(f"seed {SEED}, day {last_weekday()}")  # the simulated day: the same seed and day give the same events
    service("router")
    service("cases")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    norms = service("norms", LOKET_NORMS_PORT=str(port), **BATCH)
    day = asyncio.create_task(asyncio.to_thread(simulate, env, "--seed", str(SEED), "--direct", "--date",
                                                last_weekday(), "--start", "08:00", "--duration", "9h",
                                                "--speed", SPEED))
    for count in KILLS:
        await eventually(lambda count=count: _committed(topics, count), timeout=120)
        os.killpg(norms.pid, signal.SIGKILL)  # no goodbye, no commit
        norms.wait()
        assert not day.done(), "the day was over before the kill: not mid-stream"
        norms = service("norms", LOKET_NORMS_PORT=str(port), **BATCH)
    done = await day
    assert done.returncode == 0, done.stderr[-2000:]
    await wait_healthy(url, process=norms)

    live, rebuilt, metrics = await eventually(lambda: _settled(topics, url, env), timeout=240, interval=1)

    assert live == rebuilt
    figures = {(n["id"], w["window"]): w["actual"] for n in live["norms"] for w in n["windows"]}
    measured = {norm for (norm, window), actual in figures.items() if window == "7d" and actual is not None}
    assert {"telefoon-opgenomen", "telefoon-opgehangen", "balie-zonder-afspraak", "direct-geholpen",
            "tevredenheid"} <= measured, measured  # a day's worth of phone, counter, decisions and scores
    assert metrics == {key: actual for key, actual in figures.items() if actual is not None}


async def _committed(topics, count: int) -> bool:
    return sum((await topics.committed(READER_GROUP, READ_TOPICS[0])).values()) >= count


async def _settled(topics, url: str, env: dict[str, str]):
    """The live thermometer, the rebuild at its moment and the norm figures on /metrics, once the norms have
    committed every record of their topics and none came in meanwhile; None until then."""
    before = [await topics.count(spec) for spec in READ_TOPICS]
    for spec in READ_TOPICS:
        if not await topics.consumed_all(READER_GROUP, spec):
            return None
    async with httpx.AsyncClient(timeout=15) as client:
        live = (await client.get(f"{url}/thermometer.json")).json()
        text = (await client.get(f"{url}/metrics")).text
    rebuild = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "loket", "norms", "rebuild", "--at",
                                                       live["measured_at"]], env={**os.environ, **env},
                                      capture_output=True, text=True, timeout=120)
    assert rebuild.returncode == 0, rebuild.stderr[-2000:]
    if [await topics.count(spec) for spec in READ_TOPICS] != before:
        return None  # something came in meanwhile: the two may have read different histories
    metrics = {(s.labels["norm"], s.labels["window"]): s.value for f in text_string_to_metric_families(text)
               for s in f.samples if s.name in ("loket_norm_attainment_ratio", "loket_norm_score")}
    return live, json.loads(rebuild.stdout), metrics
