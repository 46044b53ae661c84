"""Outages of a stack of the test's own: the broker stopped while a service works, and started again."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from structlog.testing import capture_logs

from loket import stack
from plumbing.kafka import CLIENT_STOP_TIMEOUT, start_producer, stop_client
from plumbing.settings import KafkaSettings
from schemas.topics import DECISIONS
from services.case.settings import CaseSettings
from services.intake.http import API_VERSION, create_app
from services.intake.settings import IntakeSettings
from tests.integration.test_intake_mail import deliver, mail
from tests.builders import PARTIES, ChannelSystemAuth, by_contact, question
from tests.realstack import (Topics, decisions_counted, deployment_env, deployment_on, eventually, health,
                             http_ports, listening_port, readiness)

pytestmark = pytest.mark.integration
QUESTION = {"channel": "web", "text": "Mijn kliko is kapot"}
PUBLISH_TIMEOUT = 2.0
#: Seconds the broker stays away: beyond every client's timeout (aiokafka's requests: 30 s).
OUTAGE = 60


async def test_every_door_refuses_at_once_while_the_broker_is_away_and_takes_again_when_it_is_back(
        throwaway_stack):
    await stack.up(throwaway_stack)
    smtp = listening_port()
    settings = IntakeSettings(kafka_bootstrap=throwaway_stack.kafka_bootstrap, topic_prefix="outage.",
                              topic_partitions=1, intake_publish_timeout_seconds=PUBLISH_TIMEOUT,
                              intake_smtp_port=smtp)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake",
                                     auth=ChannelSystemAuth()) as client:
            assert (await client.post("/v1/questions", json=QUESTION)).status_code == 202

            with capture_logs() as told:
                stack.down(throwaway_stack, only=("kafka",))
                started = time.monotonic()
                away = await client.post("/v1/questions", json=QUESTION)
                waited = time.monotonic() - started

                assert away.status_code == 503 and waited < PUBLISH_TIMEOUT + 3, (away.status_code, waited)
                assert away.headers["content-type"] == "application/problem+json"
                assert away.headers["api-version"] == API_VERSION and int(away.headers["retry-after"]) > 0
                for _ in range(3):  # more refusals: no more lines
                    assert (await client.post("/v1/questions", json=QUESTION)).status_code == 503
                for path, body in every_door(0):  # every door: 503 with Retry-After, the mail door 451
                    refused = await client.post(path, json=body)
                    assert (refused.status_code, refused.headers.get("retry-after")) == (503, "5"), (path, refused.text)
                assert (await asyncio.to_thread(deliver_mail, smtp, 0))[0] == 451
                not_ready = await client.get("/health/ready")
                assert not_ready.status_code == 503 and not_ready.json()["detail"] == "not ready: broker unreachable"
                assert (await client.get("/health/live")).status_code == 200

                await stack.up(throwaway_stack)

                async def accepted_again() -> bool:
                    return (await client.post("/v1/questions", json=QUESTION)).status_code == 202

                await eventually(accepted_again, timeout=120, interval=1.0)
                assert (await client.get("/health/ready")).json() == {"status": "ready"}
                for path, body in every_door(1):  # each sent again until taken, as its system would on a 503
                    async def taken(path: str = path, body: dict = body) -> bool:
                        return (await client.post(path, json=body)).status_code == 202

                    await eventually(taken, timeout=60, interval=1.0)

                async def mail_taken() -> bool:
                    return (await asyncio.to_thread(deliver_mail, smtp, 1))[0] == 250

                await eventually(mail_taken, timeout=60, interval=1.0)

    about_it = [line["event"] for line in told if line.get("dependency") == "broker"]
    assert about_it == ["dependency_unavailable", "dependency_available_again"], told


def every_door(n: int) -> list[tuple[str, dict]]:
    """One valid body for each HTTP door but the questions', the ``n``th of its kind."""
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    return [("/v1/call-reports", {"id": f"cti-{n}", "type": "queued", "call": f"call-{n}", "queue": "kcc", "at": now}),
            ("/v1/counter-reports", {"id": f"qm-{n}", "type": "issued", "ticket": f"A{n:03}", "queue": "balie",
                                     "at": now}),
            ("/v1/satisfaction-scores", {"response_id": f"kto-{n}", "contact_id": "c-1", "channel": "phone",
                                         "score": 8}),
            ("/v1/first-replies", {"id": f"antw-{n}", "contact_id": "c-2", "channel": "email"})]


def deliver_mail(port: int, n: int) -> tuple[int, str]:
    """An e-mail question with a real SMTP client; the receiver's answer to its DATA."""
    return deliver(port, mail("j.jansen@example.nl", "Kliko kapot", "Mijn kliko is kapot.",
                              Message_ID=f"<outage-{n}@example.nl>"))


@dataclass
class Answer:
    status: int
    seconds: float
    retry_after: str | None
    contact_id: str | None


async def keep_asking(intake: str, answers: list[Answer], stop: asyncio.Event) -> None:
    """Post questions to the intake one after another until ``stop``, noting every answer."""
    texts = ("Mijn kliko is kapot", "paspoort aanvragen")  # a case, and an answer at once
    async with httpx.AsyncClient(base_url=intake, timeout=60, auth=ChannelSystemAuth()) as client:
        n = 0
        while not stop.is_set():
            started = time.monotonic()
            response = await client.post("/v1/questions", json={"channel": "web", "text": texts[n % 2]})
            answers.append(Answer(response.status_code, time.monotonic() - started, response.headers.get("retry-after"),
                                  response.json().get("contact_id") if response.status_code == 202 else None))
            n += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)  # a steady trickle, not a flood


async def test_a_kafka_client_asks_for_metadata_at_most_ten_times_a_second_while_the_broker_is_away(
        throwaway_stack):
    """What aiokafka's producer does while it holds records for a partition without a leader, and its fetcher
    while it reads one: ask for metadata again as soon as the last request is done. Without the pause after a
    request that no broker answered, that was a loop at full CPU through the outage."""
    await stack.up(throwaway_stack)
    producer = await start_producer(KafkaSettings(kafka_bootstrap=throwaway_stack.kafka_bootstrap))
    try:
        stack.down(throwaway_stack, only=("kafka",))
        started = time.monotonic()
        for _ in range(10):
            assert not await producer.client.force_metadata_update(), "the broker answered while it was stopped"
        assert time.monotonic() - started >= 0.9 * 10 * producer.client._retry_backoff
    finally:
        await stop_client(producer, CLIENT_STOP_TIMEOUT)


async def test_every_service_rides_out_a_broker_outage_of_a_minute_and_nothing_is_lost(throwaway_stack, service,
                                                                                      tmp_path):
    settings = await deployment_on(throwaway_stack, "outage.")
    topics = Topics(settings)
    ports = http_ports()
    deployment = {**deployment_env(settings), **ports, "LOKET_INTAKE_PUBLISH_TIMEOUT_SECONDS": str(PUBLISH_TIMEOUT),
                  "LOKET_ROUTER_BATCH_SIZE": "20"}
    names = ("intake", "router", "cases", "norms")
    processes = {name: service(name, **deployment) for name in names}
    port_of = {"intake": "LOKET_INTAKE_PORT", "router": "LOKET_ROUTER_PORT", "cases": "LOKET_CASE_PORT",
               "norms": "LOKET_NORMS_PORT"}
    urls = {name: f"http://127.0.0.1:{ports[port_of[name]]}" for name in names}

    async def ready(url: str) -> bool:
        assert not [name for name, p in processes.items() if p.poll() is not None], "a service exited"
        return await readiness(url) == "ready"

    for name in names:
        await eventually(lambda: ready(urls[name]), timeout=120, interval=0.5)

    streamed = [question(f"stream-{n}", party=PARTIES[n % 5], subject_code="container-kapot") for n in range(3000)]
    await topics.ask(streamed)
    await topics.read(DECISIONS, until=lambda rs: len(rs) >= 300, timeout=90)
    answers: list[Answer] = []
    stop_asking = asyncio.Event()
    asking = asyncio.create_task(keep_asking(urls["intake"], answers, stop_asking))
    await eventually(lambda: sum(a.status == 202 for a in answers) >= 20, timeout=60)

    stack.down(throwaway_stack, only=("kafka",))  # mid-stream: every service has work in hand
    down_at = len(answers)
    await asyncio.sleep(OUTAGE)  # the outage itself is what is under test: longer than any client timeout (30 s)
    assert not [name for name, p in processes.items() if p.poll() is not None], "a service exited"
    for name in ("router", "cases", "norms"):
        assert await readiness(urls[name]) == "not ready: broker unreachable", name
        assert (await health(urls[name], "live")).status_code == 200, name
    await stack.up(throwaway_stack)
    await eventually(lambda: sum(a.status == 202 for a in answers[down_at:]) >= 20, timeout=120, interval=1.0)
    stop_asking.set()
    await asking

    during = [a for a in answers[down_at:] if a.status != 202]
    assert during and all(a.status == 503 and a.retry_after for a in during), {a.status for a in during}
    assert max(a.seconds for a in during) < PUBLISH_TIMEOUT + 3, max(a.seconds for a in during)
    accepted = {a.contact_id for a in answers if a.status == 202} | {q.data.contact_id for q in streamed}
    decided = by_contact(await topics.read(DECISIONS, until=lambda rs: accepted <= set(by_contact(rs)), timeout=240))
    cases = {d.case_id for d in decided.values() if d.outcome == "escalated"}
    assert cases, "no question became a case: the test proves nothing about the case service"
    await eventually(lambda: _stored_cases(settings, cases), timeout=180, interval=1.0)
    await eventually(lambda: _counted(urls["norms"], len(decided)), timeout=120, interval=1.0)
    for name in names:
        assert await ready(urls[name]), name

    for name in names:
        told = (tmp_path / f"{name}.log").read_text().splitlines()
        about_it = [line for line in told if any(word in line for word in OUTAGE_WORDS)]
        print(f"{name}: {len(about_it)} lines about the outage")
        assert len(about_it) <= 12, f"{name}: " + "\n".join(about_it[:40])
        assert not any("Traceback" in line for line in told), name
        told_it = " ".join(told)
        assert "dependency_unavailable" in told_it and "dependency_available_again" in told_it, name  # start, end


#: What a line about the broker's outage says (our own outage lines, and any client's complaint).
OUTAGE_WORDS = ("dependency_", "aiokafka", "faust", "mode.", "Connection", "Timeout", "NotAvailable")


async def _stored_cases(settings: CaseSettings, cases: set[str]) -> bool:
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        stored = {r["case_id"] for r in await conn.fetch("SELECT case_id FROM cases WHERE case_id = ANY($1)", list(cases))}
        return stored == cases
    finally:
        await conn.close()


async def _counted(norms: str, decisions: int) -> bool:
    return await decisions_counted(norms) == decisions
