"""Outages of a stack of the test's own: the broker stopped while a service works, and started again."""

from __future__ import annotations

import time

import httpx
import pytest
from structlog.testing import capture_logs

from loket import stack
from services.intake.http import API_VERSION, create_app
from services.intake.settings import IntakeSettings
from tests.realstack import eventually

pytestmark = pytest.mark.integration
QUESTION = {"channel": "web", "text": "Mijn kliko is kapot"}
PUBLISH_TIMEOUT = 2.0


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
