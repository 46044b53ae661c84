"""The intake's floor: a bare FastAPI endpoint that reads the JSON body and does the intake's acknowledged send.

Run by bench/intake.py as a process of its own, on the port in LOKET_INTAKE_PORT, under uvicorn as
``loket intake`` is run, with the same producer (``plumbing.kafka.start_producer``: idempotent, acks=all).
Each request sends the same record, a question event as the intake makes it of a phone question with a
BSN, under a fresh key, to a topic made like the contacts topic. No validation, pseudonym, idempotency
memory, metrics, log or middleware: what is left is uvicorn, FastAPI's routing and the producer's round trip.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from plumbing.kafka import CLOUDEVENT_HEADERS, start_producer, stop_client, topic_name
from plumbing.logging import configure_logging
from schemas.envelope import source_urn
from schemas.intake import QuestionSubmission
from schemas.topics import TopicSpec
from services.intake.app import serve
from services.intake.domain import question_event
from services.intake.settings import IntakeSettings

FLOOR = TopicSpec("bench.intake-floor.v1", key="a fresh 64-hex key (as a pseudonym)",
                  description="the intake floor's records", events=())


def sample_event(settings: IntakeSettings) -> bytes:
    """A phone question with a BSN as the intake publishes it: what the floor sends for every request."""
    submission = QuestionSubmission.model_validate(
        {"channel": "phone", "text": "Mijn paspoort verloopt volgende maand, hoe vraag ik een nieuwe aan?",
         "party": {"bsn": "111222333"}})
    return question_event(submission, secret=settings.pseudonym_secret.get_secret_value().encode(),
                          source=source_urn(settings.oin, "loket-intake"), now=dt.datetime.now(dt.timezone.utc),
                          event_id=str(uuid.uuid4()), contact_id=str(uuid.uuid4())).to_bytes()


def create_app(settings: IntakeSettings) -> FastAPI:
    value = sample_event(settings)
    topic = topic_name(settings, FLOOR)
    headers = list(CLOUDEVENT_HEADERS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.producer = await start_producer(settings)
        try:
            yield
        finally:
            await stop_client(app.state.producer, settings.stop_timeout_seconds)

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/v1/questions", status_code=202)
    async def post_question(request: Request) -> Response:
        await request.json()
        event_id, contact_id = uuid.uuid4(), uuid.uuid4()
        await request.app.state.producer.send_and_wait(topic, value, key=os.urandom(32).hex().encode(),
                                                       headers=headers)
        return Response(f'{{"event_id":"{event_id}","contact_id":"{contact_id}"}}'.encode(), status_code=202,
                        media_type="application/json")

    @app.get("/health/ready")
    async def ready() -> Response:
        return Response(b"{}", media_type="application/json")  # the producer started before serving began

    return app


def main() -> None:
    settings = IntakeSettings()
    configure_logging(settings.log_level, settings.log_format)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
