"""The intake HTTP API: ``POST /v1/questions``; errors as ``application/problem+json``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from plumbing.http import add_metrics_endpoint
from plumbing.kafka import ensure_topics, start_producer
from schemas.envelope import source_urn
from schemas.intake import FieldProblem, Problem, QuestionAccepted, QuestionSubmission
from schemas.topics import CONTACTS
from services.intake import handlers, metrics
from services.intake.exceptions import InvalidIdentifier, PublishFailed
from services.intake.kafka import KafkaPublisher
from services.intake.settings import DEVELOPMENT_SECRET, IntakeSettings

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"


def create_app(settings: IntakeSettings) -> FastAPI:
    """The intake API; the Kafka producer is made at start-up, never at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.pseudonym_secret.get_secret_value() == DEVELOPMENT_SECRET:
            log.warning("development_pseudonym_secret_used", hint="set LOKET_PSEUDONYM_SECRET in production")
        await ensure_topics(settings, [CONTACTS])
        producer = await start_producer(settings)
        app.state.publisher = KafkaPublisher(producer, settings)
        log.info("intake_started", host=settings.intake_host, port=settings.intake_port)
        try:
            yield
        finally:
            await producer.stop()

    app = FastAPI(title="Loket intake", version="1.0.0", lifespan=lifespan)
    app.add_exception_handler(RequestValidationError, _invalid_body)
    app.add_exception_handler(InvalidIdentifier, _invalid_identifier)
    app.add_exception_handler(PublishFailed, _unavailable)
    add_metrics_endpoint(app)
    secret = settings.pseudonym_secret.get_secret_value().encode()
    source = source_urn(settings.oin, "loket-intake")

    @app.post("/v1/questions", status_code=202, response_model=QuestionAccepted)
    async def post_question(
        submission: QuestionSubmission,
        request: Request,
        idempotency_key: str | None = Header(
            None, min_length=8, max_length=128, description="Retry with the same key: the same question, not a second."
        ),
    ) -> QuestionAccepted:
        """Accept a question from any channel; 202 once it is durable in the contacts stream."""
        accepted = await handlers.accept_question(
            submission,
            publisher=request.app.state.publisher,
            secret=secret,
            source=source,
            now=dt.datetime.now(dt.timezone.utc),
            new_id=lambda: str(uuid.uuid4()),
            idempotency_key=idempotency_key,
        )
        metrics.QUESTIONS_ACCEPTED.labels(channel=submission.channel.value).inc()
        log.info("question_accepted", event_id=accepted.event_id, channel=submission.channel.value)
        return accepted

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _problem(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


async def _invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    metrics.QUESTIONS_REFUSED.labels(reason="invalid").inc()
    if any(e.get("type") == "json_invalid" for e in errors):
        return _problem(Problem(title="Malformed JSON", status=400, detail="The body is not valid JSON."))
    fields = [FieldProblem(field=_field_path(e["loc"]), reason=e["msg"]) for e in errors]
    detail = "; ".join(f"{f.field}: {f.reason}" for f in fields)
    return _problem(Problem(title="Invalid question", status=422, detail=detail, errors=fields))


async def _invalid_identifier(request: Request, exc: InvalidIdentifier) -> JSONResponse:
    metrics.QUESTIONS_REFUSED.labels(reason="invalid").inc()
    field = FieldProblem(field=exc.field, reason=exc.reason)
    return _problem(Problem(title="Invalid question", status=422, detail=str(exc), errors=[field]))


async def _unavailable(request: Request, exc: PublishFailed) -> JSONResponse:
    metrics.QUESTIONS_REFUSED.labels(reason="unavailable").inc()
    log.error("question_not_published", error=str(exc))
    problem = Problem(title="Stream unavailable", status=503, detail="The question was not accepted; try again.")
    return _problem(problem, headers={"Retry-After": "5"})


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "(body)"
