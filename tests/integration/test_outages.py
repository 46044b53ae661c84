"""Outages of a stack of the test's own: the broker stopped while a service works, and started again."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from structlog.testing import capture_logs

from loket import stack
from plumbing.kafka import ensure_topics
from plumbing.settings import KafkaSettings
from schemas.topics import ALL_TOPICS, DECISIONS
from services.intake.http import API_VERSION, create_app
from services.intake.settings import IntakeSettings
from tests.crash.test_router_crash import PARTIES, ask
from tests.integration.test_router_rules import by_contact, question
from tests.realstack import Topics, eventually

pytestmark = pytest.mark.integration
QUESTION = {"channel": "web", "text": "Mijn kliko is kapot"}
PUBLISH_TIMEOUT = 2.0
#: Seconds the broker stays away: beyond aiokafka's request timeout (30 s), where the router used to exit.
OUTAGE = 40


async def test_the_intake_answers_503_at_once_while_the_broker_is_away_and_202_again_when_it_is_back(
        throwaway_stack):
    await stack.up(throwaway_stack)
    settings = IntakeSettings(kafka_bootstrap=throwaway_stack.kafka_bootstrap, topic_prefix="outage.",
                              topic_partitions=1, intake_publish_timeout_seconds=PUBLISH_TIMEOUT)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
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
                not_ready = await client.get("/health/ready")
                assert not_ready.status_code == 503 and not_ready.json()["detail"] == "not ready: broker unreachable"
                assert (await client.get("/health/live")).status_code == 200

                await stack.up(throwaway_stack)

                async def accepted_again() -> bool:
                    return (await client.post("/v1/questions", json=QUESTION)).status_code == 202

                await eventually(accepted_again, timeout=120, interval=1.0)
                assert (await client.get("/health/ready")).json() == {"status": "ready"}

    about_it = [line["event"] for line in told if line.get("dependency") == "broker"]
    assert about_it == ["dependency_unavailable", "dependency_available_again"], told


async def test_the_router_rides_out_a_broker_outage_longer_than_every_client_timeout(throwaway_stack, service, env,
                                                                                       tmp_path):
    await stack.up(throwaway_stack)
    topics = Topics(KafkaSettings(kafka_bootstrap=throwaway_stack.kafka_bootstrap, topic_prefix=env["LOKET_TOPIC_PREFIX"],
                                  topic_partitions=2))
    await ensure_topics(topics.settings, ALL_TOPICS)
    router = service("router", LOKET_KAFKA_BOOTSTRAP=throwaway_stack.kafka_bootstrap, LOKET_ROUTER_BATCH_SIZE="20")
    before = [question(f"before-{n}", party=PARTIES[n % 5], subject_code="paspoort-id") for n in range(3000)]
    after = [question(f"after-{n}", party=PARTIES[n % 5], subject_code="paspoort-id") for n in range(100)]
    await ask(topics, before)
    await topics.read(DECISIONS, until=lambda rs: len(rs) >= 300, timeout=90)

    stack.down(throwaway_stack, only=("kafka",))  # mid-stream: the router has batches in hand
    await asyncio.sleep(OUTAGE)  # the outage itself is what is under test: longer than any client timeout (30 s)
    assert router.poll() is None, "the router exited while the broker was away"
    await stack.up(throwaway_stack)

    await ask(topics, after)
    decided = await topics.read(DECISIONS, until=lambda rs: {q.data.contact_id for q in before + after} <= set(
        by_contact(rs)), timeout=180)
    assert router.poll() is None and decided
    told = (tmp_path / "router.log").read_text()
    assert told.count("dependency_unavailable") <= 1 and told.count("aiokafka") <= 40, told[-4000:]
