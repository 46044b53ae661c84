"""A real Prometheus (Debian's ``prometheus``, which ./dev installs) on the shipped scrape configuration and alert
rules scrapes the four running services after a simulated hour: every job is up, each norm figure it stores is the
thermometer's, and the alerts it evaluates are the figures the thermometer shows short of their target. Without
the server this test fails, it never skips."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from schemas.topics import CASE_EVENTS, CONTACTS, DECISIONS
from services.norms.reading import READ_TOPICS
from services.norms.app import READER_GROUP
from tests.integration.test_simulator import simulate
from tests.realstack import Topics, eventually, free_port, last_weekday, wait_healthy

pytestmark = pytest.mark.integration
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
SEED = 23
#: The service each shipped job scrapes, and the setting of its port.
JOBS = {"loket-intake": ("intake", "LOKET_INTAKE_PORT"), "loket-router": ("router", "LOKET_ROUTER_PORT"),
        "loket-cases": ("cases", "LOKET_CASE_PORT"), "loket-norms": ("norms", "LOKET_NORMS_PORT")}
NORM, WINDOW = "telefoon-opgenomen", "7d"
#: What each service has read once the simulated hour went through: then no figure changes any more.
READS = [(READER_GROUP, spec) for spec in READ_TOPICS] + [("router", CONTACTS), ("router", CASE_EVENTS),
                                                      ("cases", DECISIONS)]


def scrape_config(ports: dict[str, int]) -> str:
    """The shipped prometheus.yml, changed only where a test must: each job's target the test's port, 1 s
    intervals, the rule files by their full path. Edited as text (PyYAML is no dependency of ours), each edit
    asserted, so a changed file fails here rather than scraping the wrong thing."""
    text = (DEPLOY / "prometheus.yml").read_text("utf-8")
    assert set(re.findall(r"job_name: (\S+)", text)) == set(ports), "the shipped jobs are not the four services"
    text, intervals = re.subn(r"^(\s+(?:scrape|evaluation)_interval:) \S+$", r"\1 1s", text, flags=re.M)
    text, rules = re.subn(r"^(\s+- )(rules/\S+)$", lambda m: m[1] + json.dumps(str(DEPLOY / m[2])), text,
                          flags=re.M)
    assert (intervals, rules) == (2, 1), (intervals, rules)
    for job, port in ports.items():
        text, found = re.subn(rf"(job_name: {job}\n(?:(?!\s+- job_name).*\n)*?\s+- targets: )\[[^\]]*\]",
                              rf'\g<1>["127.0.0.1:{port}"]', text)
        assert found == 1, f"no targets of {job} in the shipped configuration"
    return text


@pytest.fixture
def prometheus(tmp_path) -> Iterator[Callable[[str], Awaitable[str]]]:  # type: ignore[no-untyped-def]
    """Start a Prometheus server on a configuration and return its URL; it keeps its data and log in the test's
    folder and is stopped after the test."""
    binary = shutil.which("prometheus")
    assert binary, "the prometheus server is missing: run ./dev setup (Debian: apt-get install prometheus)"
    started: list[subprocess.Popen] = []

    async def start(config: str) -> str:
        (tmp_path / "prometheus.yml").write_text(config, "utf-8")
        url = f"http://127.0.0.1:{free_port()}"
        with open(tmp_path / "prometheus.log", "ab") as log:
            server = subprocess.Popen([binary, f"--config.file={tmp_path / 'prometheus.yml'}",
                                       f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                       f"--web.listen-address={url.removeprefix('http://')}"],
                                      stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        started.append(server)

        async def ready() -> bool:
            assert server.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
            try:
                return (await _get(f"{url}/-/ready")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, timeout=60)
        return url

    yield start
    for server in started:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def test_a_real_prometheus_scrapes_every_service_and_stores_the_thermometers_figures(
        service, topics, env, prometheus):
    began = time.monotonic()
    day = last_weekday()
    print(f"seed {SEED}, day {day}")  # the same seed and day give the same events, so the same figures
    done = await asyncio.to_thread(simulate, env, "--seed", str(SEED), "--direct", "--date", day, "--start", "09:00",
                                   "--duration", "1h", "--speed", "max")
    assert done.returncode == 0, done.stderr[-2000:]
    ports = {job: free_port() for job in JOBS}
    server = await prometheus(scrape_config(ports))  # from before the services are up, as in production
    for job, (name, setting) in JOBS.items():
        await wait_healthy(f"http://127.0.0.1:{ports[job]}", process=service(name, **{setting: str(ports[job])}))
    norms = f"http://127.0.0.1:{ports['loket-norms']}"
    await eventually(lambda: _answers(f"{norms}/thermometer.json"), timeout=120, interval=0.5)
    await eventually(lambda: _settled(topics), timeout=180, interval=1)
    settled = time.time()
    print(f"simulated, started and read in {time.monotonic() - began:.1f}s")
    thermometer = (await _get(f"{norms}/thermometer.json")).json()
    [norm] = [n for n in thermometer["norms"] if n["id"] == NORM]
    [actual] = [w["actual"] for w in norm["windows"] if w["window"] == WINDOW]
    assert actual is not None, f"no {NORM} figure over {WINDOW}: the simulated hour had no calls"

    try:
        await eventually(lambda: _all_up(server, ports), timeout=30)
    except AssertionError:
        raise AssertionError(f"not every job scraped: {await _targets(server)}") from None
    scraped = await eventually(lambda: _figures_scraped_since(server, settled), timeout=60)
    assert scraped.get((NORM, WINDOW)) == [actual], (scraped.get((NORM, WINDOW)), actual)
    figures = {(n["id"], w["window"]): [w["actual"]] for n in thermometer["norms"] for w in n["windows"]
               if w["actual"] is not None}
    assert scraped == figures  # every scrape since, every figure the thermometer shows and no other
    [target] = await _query(server, f'loket_norm_target_ratio{{norm="{NORM}"}}')
    assert target["metric"]["direction"] == norm["direction"] == "at-least"
    assert float(target["value"][1]) == norm["target"] == 0.8
    shipped = set(re.findall(r"- alert: (\S+)", (DEPLOY / "rules" / "loket.yml").read_text("utf-8")))
    assert "LoketNormBelowTarget" in shipped
    try:
        await eventually(lambda: _evaluated(server), timeout=30)
    except AssertionError:
        raise AssertionError(f"the rules not evaluated: {await _rules(server)}") from None
    assert {name for name, (kind, _) in (await _rules(server)).items() if kind == "alerting"} == shipped
    short = _short_of_target(thermometer)
    assert short, "no norm short of its target: the alert is not put to the test; choose another seed"
    firing = await eventually(lambda: _alerts_are(server, short), timeout=30)
    print(f"Prometheus agreed after {time.monotonic() - began:.1f}s: {NORM} {WINDOW} {actual}, "
          f"{len(figures)} figures; alerts pending: {sorted(firing)}")


async def _get(url: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url, params=params)


async def _answers(url: str) -> bool:
    return (await _get(url)).status_code == 200


async def _settled(topics: Topics) -> bool:
    """Whether every service has read all the simulated hour made, and nothing came in meanwhile."""
    before = [await topics.count(spec) for spec in READ_TOPICS]
    for name, spec in READS:
        if not await topics.consumed_all(name, spec):
            return False
    return [await topics.count(spec) for spec in READ_TOPICS] == before


async def _query(server: str, promql: str) -> list[dict]:
    """The result of a PromQL query on the server now; an empty list while it is not up yet."""
    try:
        answer = await _get(f"{server}/api/v1/query", query=promql)
    except httpx.TransportError:
        return []
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["result"]


async def _figures_scraped_since(server: str, moment: float) -> dict[tuple[str, str], list[float]] | None:
    """Each norm figure's distinct values (norm, window) in the norms' scrapes after ``moment`` (Unix time); None
    before such a scrape. A scrape's samples and its ``up`` are stored at once, with the scrape's time."""
    last = await _query(server, 'timestamp(up{job="loket-norms"})')
    if not last or float(last[0]["value"][1]) <= moment:
        return None
    raw = await _query(server, '{__name__=~"loket_norm_attainment_ratio|loket_norm_score",job="loket-norms"}[1m]')
    figures = {(s["metric"]["norm"], s["metric"]["window"]): sorted({float(v) for at, v in s["values"] if at > moment})
               for s in raw}
    return {key: values for key, values in figures.items() if values}


async def _targets(server: str) -> dict[str, tuple[str, str, str]]:
    """Each job's target: its health, the URL scraped and the last scrape's error."""
    targets = (await _get(f"{server}/api/v1/targets")).json()["data"]["activeTargets"]
    return {t["labels"]["job"]: (t["health"], t["scrapeUrl"], t["lastError"]) for t in targets}


async def _all_up(server: str, ports: dict[str, int]) -> bool:
    """Every shipped job's last scrape succeeded, each at its service's /metrics (the shipped metrics path)."""
    up = {r["metric"]["job"]: r["value"][1] for r in await _query(server, "up")}
    return up == dict.fromkeys(JOBS, "1") and await _targets(server) == {
        job: ("up", f"http://127.0.0.1:{port}/metrics", "") for job, port in ports.items()}


async def _rules(server: str) -> dict[str, tuple[str, str]]:
    """Each rule the server loaded: its type (alerting, recording) and its health after its last evaluation."""
    groups = (await _get(f"{server}/api/v1/rules")).json()["data"]["groups"]
    return {rule["name"]: (rule["type"], rule["health"]) for group in groups for rule in group["rules"]}


async def _evaluated(server: str) -> bool:
    """Whether the server loaded rules and evaluated every one without an error."""
    rules = await _rules(server)
    return bool(rules) and all(health == "ok" for _, health in rules.values())


def _short_of_target(thermometer: dict) -> set[tuple[str, str, str]]:
    """(alert, norm, window) of each figure the thermometer shows short of its target, in the norm's direction."""
    return {("LoketNormBelowTarget", n["id"], w["window"]) for n in thermometer["norms"] for w in n["windows"]
            if w["actual"] is not None and (w["actual"] < n["target"] if n["direction"] == "at-least"
                                            else w["actual"] > n["target"])}


async def _alerts_are(server: str, expected: set[tuple[str, str, str]]) -> set[tuple[str, str, str]] | None:
    """The server's alerts, once they are exactly ``expected``, each pending (its ``for`` has not passed)."""
    alerts = (await _get(f"{server}/api/v1/alerts")).json()["data"]["alerts"]
    found = {(a["labels"]["alertname"], a["labels"].get("norm", a["labels"].get("job")), a["labels"].get("window"))
             for a in alerts}
    return found if found == expected and all(a["state"] == "pending" for a in alerts) else None
