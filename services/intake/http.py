"""The intake HTTP API: ``POST /v1/questions``, with the shared API behaviour of ``plumbing.api``."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated

import structlog
from fastapi import Depends, FastAPI, Header, Request, Response
from prometheus_client import Counter

from plumbing.api import create_api, problem, problem_response
from plumbing.health import RETRY_AFTER_SECONDS, add_health_endpoints
from plumbing.http import add_metrics_endpoint
from plumbing.openapi import ApiInfo
from schemas.envelope import source_urn
from schemas.contacts import Channel
from schemas.intake import QuestionAccepted, QuestionSubmission, ReplySubmission, ScoreSubmission
from schemas.problem import FieldProblem
from schemas.topics import CONTACTS
from services.intake import handlers, metrics
from services.intake.auth import ChannelSystem, authenticated, require, require_channel
from services.intake.counter import CounterReport
from services.intake.cti import CtiReport
from services.intake.exceptions import FieldRefused, IdempotencyKeyReused, PublishFailed
from services.intake.handlers import Publisher
from services.intake.idempotency import IdempotencyMemory
from services.intake.kafka import KafkaPublisher
from services.intake.mail import serve_mail
from services.intake.settings import DEVELOPMENT_SECRET, IntakeSettings
from services.intake.window import ReceivedWindow

log = structlog.get_logger(__name__)
#: Semantic version of the intake API (ADR API-56); its major version is the path's ``/v1``.
API_VERSION = "1.2.0"
IDEMPOTENCY_KEY = "Idempotency-Key"
#: Opens the publisher at start-up, given the settings and the memory of keys it is to keep durable.
PublisherFactory = Callable[[IntakeSettings, IdempotencyMemory], AbstractAsyncContextManager[Publisher]]
#: Share of the stop timeout the producer has to stop in at shutdown, after uvicorn's graceful shutdown of the
#: requests (``services.intake.app.REQUESTS_STOP_SHARE``): together they stay within the timeout.
PRODUCER_STOP_SHARE = 0.25


def api_info(settings: IntakeSettings) -> ApiInfo:
    return ApiInfo(
        title="Loket intake",
        version=API_VERSION,
        description="Every channel's questions (phone, web, counter, chat, e-mail, letter) into Loket's contacts "
        "stream, where the router applies the one-desk rules. Errors are application/problem+json (RFC 9457); "
        "bodies are I-JSON (RFC 7493) of at most LOKET_INTAKE_MAX_BODY_BYTES (default 64 KiB). Every call carries "
        "its channel system's own bearer token (telephony, website, counter, mail, post or survey), and each "
        "operation takes the systems whose contacts it is about: 401 without a token, 403 with another system's.",
        contact=settings.contact(),
        tags=[{"name": "counter", "description": "What the queue-ticketing and appointment systems see of each "
               "counter visit."},
              {"name": "feedback", "description": "The parties' satisfaction scores (KTO) of their contacts."},
              {"name": "phone", "description": "What the telephony platform (CTI) sees of each call."},
              {"name": "questions", "description": "Questions (vragen) from every channel."},
              {"name": "replies", "description": "The first written replies to web, e-mail and letter questions."}],
    )


@asynccontextmanager
async def kafka_publisher(settings: IntakeSettings, keys: IdempotencyMemory) -> AsyncIterator[Publisher]:
    """The Kafka publisher, made at start-up (never at import), its producer started in the background and tried
    until the broker answers, and the journal of ``keys`` read back before the first event is published (see
    ``KafkaPublisher.connect``): the intake serves at once, live but not ready (and a 503 to each question) while
    the broker is away, which is what an orchestrator wants; start-up never holds up uvicorn, whose stop
    on a signal would wait for it. At shutdown the start is given up, and the producer (whose stop flushes for
    as long as the broker is away) gets ``PRODUCER_STOP_SHARE`` of the stop timeout."""
    publisher = KafkaPublisher(None, settings, settings.intake_publish_timeout_seconds, keys)
    stopping = asyncio.Event()
    connecting = asyncio.create_task(publisher.connect([CONTACTS], stopping))
    try:
        yield publisher
    finally:
        stopping.set()
        await connecting
        await publisher.close(settings.stop_timeout_seconds * PRODUCER_STOP_SHARE)


def create_app(settings: IntakeSettings, open_publisher: PublisherFactory = kafka_publisher) -> FastAPI:
    """The intake API; ``open_publisher`` is entered at start-up."""
    info = api_info(settings)
    questions = f"{info.base_path}/questions"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.pseudonym_secret.get_secret_value() == DEVELOPMENT_SECRET:
            log.warning("development_pseudonym_secret_used", hint="set LOKET_PSEUDONYM_SECRET in production")
        if settings.development_tokens():
            log.warning("development_tokens_used", systems=settings.development_tokens(),
                        hint="set LOKET_INTAKE_TOKENS in production")
        async with open_publisher(settings, memory) as publisher:
            app.state.publisher = publisher
            mail = None
            if settings.intake_smtp_port is not None:
                mail = await serve_mail(lambda question, key: accept(publisher, question, key, "smtp"),
                                        settings.intake_host, settings.intake_smtp_port, settings.intake_mail_max_bytes)
                log.info("mail_door_open", host=settings.intake_host,
                         port=mail.sockets[0].getsockname()[1])
            log.info("intake_started", host=settings.intake_host, port=settings.intake_port)
            try:
                yield
            finally:
                if mail is not None:
                    mail.close()  # no new connections; a message under way ends with its connection
        log.info("intake_stopped")

    def count_refusal(method: str, path: str, status: int) -> None:
        if method == "POST" and path == questions and status >= 400:
            reason = {503: "unavailable", 401: "unauthenticated", 403: "forbidden"}.get(status, "invalid")
            metrics.QUESTIONS_REFUSED.labels(reason=reason).inc()

    app = create_api(info, max_body_bytes=settings.intake_max_body_bytes, lifespan=lifespan, observe=count_refusal)
    _add_intake_problems(app, info.version)
    add_metrics_endpoint(app)
    secret = settings.pseudonym_secret.get_secret_value().encode()
    source = source_urn(settings.oin, "loket-intake")
    window = ReceivedWindow(max_future=dt.timedelta(seconds=settings.intake_received_at_max_future_seconds),
                            max_age=dt.timedelta(days=settings.intake_received_at_max_age_days))
    memory = IdempotencyMemory(settings.intake_idempotency_ttl_seconds, settings.intake_idempotency_max_keys, secret)
    caller = Depends(authenticated(settings.intake_tokens))  # a module-level name could not hold the settings

    async def accept(publisher: Publisher, submission: QuestionSubmission, idempotency_key: str | None,
                     system: str) -> QuestionAccepted:
        """A question from any door into the stream, counted by channel and logged without its content."""
        accepted, replayed = await handlers.accept_question(
            submission,
            publisher=publisher,
            secret=secret,
            source=source,
            now=dt.datetime.now(dt.timezone.utc),
            new_id=lambda: str(uuid.uuid4()),
            window=window,
            memory=memory,
            idempotency_key=idempotency_key,
            attachment_max_bytes=settings.intake_attachment_max_bytes,
        )
        counter = metrics.QUESTIONS_REPLAYED if replayed else metrics.QUESTIONS_ACCEPTED
        counter.labels(channel=submission.channel.value).inc()
        log.info("question_replayed" if replayed else "question_accepted", event_id=accepted.event_id,
                 channel=submission.channel.value, system=system)
        return accepted

    @app.post(questions, status_code=202, response_model=QuestionAccepted, tags=["questions"],
              operation_id="postQuestion", summary="Submit a question", responses=_QUESTION_RESPONSES)
    async def post_question(
        submission: QuestionSubmission,
        request: Request,
        system: ChannelSystem = caller,
        idempotency_key: Annotated[str | None, Header(
            alias=IDEMPOTENCY_KEY, min_length=8, max_length=128, pattern=r"^[!-~]+$",
            description="Retry with the same key and body: the first answer, not a second question. The same "
            "key with another body is a 422. Visible ASCII; a Structured Fields string (in quotes) is read "
            "without its quotes. Remembered for LOKET_INTAKE_IDEMPOTENCY_TTL_SECONDS (default a day).",
        )] = None,
    ) -> QuestionAccepted:
        """Accept a question from any channel; 202 once it is durable in the contacts stream. Each channel's
        questions come from its own system: phone from telephony, web and chat from website, counter from
        counter, e-mail from mail, letters from post."""
        require_channel(system, submission.channel)
        return await accept(request.app.state.publisher, submission, _unquoted(idempotency_key), system)

    async def accept_report(publisher: Publisher, report: CtiReport | CounterReport, accepted_total: Counter,
                            system: ChannelSystem) -> QuestionAccepted:
        accepted, replayed = await handlers.accept_report(
            report, publisher=publisher, secret=secret, source=source, now=dt.datetime.now(dt.timezone.utc),
            window=window, memory=memory)
        if not replayed:
            accepted_total.labels(type=report.type.value).inc()
        log.info("report_replayed" if replayed else "report_accepted", event_id=accepted.event_id,
                 type=report.type.value, system=system)
        return accepted

    @app.post(f"{info.base_path}/call-reports", status_code=202, response_model=QuestionAccepted, tags=["phone"],
              operation_id="postCallReport", summary="Report a call's course", responses=_REPORT_RESPONSES)
    async def post_call_report(report: CtiReport, request: Request,
                               system: ChannelSystem = caller) -> QuestionAccepted:
        """A telephony platform's report that a call was queued, answered, abandoned, transferred or ended, in
        the generic CTI format; 202 once its event is durable in the contacts stream. A report sent again (the
        same ``id``) gets the first answer and is not published again."""
        require(system, frozenset({ChannelSystem.TELEPHONY}), "call reports")
        return await accept_report(request.app.state.publisher, report, metrics.CALL_REPORTS_ACCEPTED, system)

    @app.post(f"{info.base_path}/counter-reports", status_code=202, response_model=QuestionAccepted,
              tags=["counter"], operation_id="postCounterReport", summary="Report a counter visit's course",
              responses=_REPORT_RESPONSES)
    async def post_counter_report(report: CounterReport, request: Request,
                                  system: ChannelSystem = caller) -> QuestionAccepted:
        """A queue-ticketing or appointment system's report that a ticket was issued, called, served or not
        come for, or that an appointment was booked, arrived, called or served, in the generic format; 202 once
        its event is durable in the contacts stream. A report sent again (the same ``id``) gets the first
        answer and is not published again."""
        require(system, frozenset({ChannelSystem.COUNTER}), "counter reports")
        return await accept_report(request.app.state.publisher, report, metrics.COUNTER_REPORTS_ACCEPTED, system)

    @app.post(f"{info.base_path}/satisfaction-scores", status_code=202, response_model=QuestionAccepted,
              tags=["feedback"], operation_id="postSatisfactionScore", summary="Submit a satisfaction score",
              responses=_SCORE_RESPONSES)
    async def post_satisfaction_score(submission: ScoreSubmission, request: Request,
                                      system: ChannelSystem = caller) -> QuestionAccepted:
        """A party's score (1-10) of a contact, from the survey tool (KTO); 202 once it is durable in the
        contacts stream. The same response sent again (the same ``response_id``) gets the first answer."""
        require(system, frozenset({ChannelSystem.SURVEY}), "satisfaction scores")
        accepted, replayed = await handlers.accept_score(
            submission, publisher=request.app.state.publisher, source=source,
            now=dt.datetime.now(dt.timezone.utc), window=window, memory=memory)
        if not replayed:
            metrics.SCORES_ACCEPTED.labels(channel=submission.channel.value).inc()
        log.info("score_replayed" if replayed else "score_accepted", event_id=accepted.event_id, system=system)
        return accepted

    @app.post(f"{info.base_path}/first-replies", status_code=202, response_model=QuestionAccepted,
              tags=["replies"], operation_id="postFirstReply", summary="Report a first reply sent",
              responses=_REPLY_RESPONSES)
    async def post_first_reply(submission: ReplySubmission, request: Request,
                               system: ChannelSystem = caller) -> QuestionAccepted:
        """That the first written reply to a web, e-mail or letter question went out, from the system that sent
        it (website, mail or post); 202 once it is durable in the contacts stream. The norms time it from the
        question's received_at. The same reply sent again (the same ``id``) gets the first answer."""
        require_channel(system, Channel(submission.channel), "first replies")
        accepted, replayed = await handlers.accept_reply(
            submission, publisher=request.app.state.publisher, source=source,
            now=dt.datetime.now(dt.timezone.utc), window=window, memory=memory)
        if not replayed:
            metrics.REPLIES_ACCEPTED.labels(channel=submission.channel).inc()
        log.info("reply_replayed" if replayed else "reply_accepted", event_id=accepted.event_id, system=system)
        return accepted

    add_health_endpoints(app, lambda: app.state.publisher.unready_reason(), info.version)

    return app


_QUESTION_RESPONSES: dict[int | str, dict] = {
    202: {"description": "Accepted: the question is durable in the contacts stream and will be routed. A retry "
          "with the same Idempotency-Key and body gets this same answer."},
    422: {"description": "The question breaks a rule of this document, or one only the intake can check (the "
          "eleven test, a possible phone number, received_at in its window), or its Idempotency-Key was used "
          "with another body; `errors` names each field at fault."},
    503: {"description": "The contacts stream is unavailable: nothing was accepted; try again after Retry-After.",
          "headers": {"Retry-After": {"description": "Seconds to wait before trying again.", "required": True,
                                      "schema": {"type": "integer", "minimum": 1}}}},
}


_REPORT_RESPONSES: dict[int | str, dict] = {
    202: {"description": "Accepted: the report's event is durable in the contacts stream. The same report sent "
          "again (the same id) gets this same answer."},
    422: {"description": "The report breaks a rule of this document (a field its type needs is missing), a "
          "number or identifier in it is not possible, its time lies outside the intake's window, or its id "
          "came with another body before; `errors` names each field at fault."},
    503: _QUESTION_RESPONSES[503],
}


_REPLY_RESPONSES: dict[int | str, dict] = {
    202: {"description": "Accepted: the reply's event is durable in the contacts stream. The same reply sent "
          "again (the same id) gets this same answer."},
    422: {"description": "The report breaks a rule of this document, its sent_at lies outside the intake's "
          "window, or its id came with another body before; `errors` names each field at fault."},
    503: _QUESTION_RESPONSES[503],
}


_SCORE_RESPONSES: dict[int | str, dict] = {
    202: {"description": "Accepted: the score is durable in the contacts stream. The same response sent again "
          "(the same response_id) gets this same answer."},
    422: {"description": "The score breaks a rule of this document, its scored_at lies outside the intake's "
          "window, or its response_id came with another body before; `errors` names each field at fault."},
    503: _QUESTION_RESPONSES[503],
}


def _unquoted(key: str | None) -> str | None:
    """The key itself: the IETF draft sends it as a Structured Fields string, ``"8e03978e…"``."""
    if key is not None and len(key) > 2 and key[0] == key[-1] == '"':
        return key[1:-1]
    return key


def _add_intake_problems(app: FastAPI, version: str) -> None:
    """The intake's own refusals, as 422 and 503 problems that name the field and never echo its value."""

    def unprocessable(field: str, reason: str) -> Response:
        return problem_response(problem(422, f"{field}: {reason}", [FieldProblem(field=field, reason=reason)]), version)

    async def field_refused(request: Request, exc: FieldRefused) -> Response:
        return unprocessable(exc.field, exc.reason)

    async def key_reused(request: Request, exc: IdempotencyKeyReused) -> Response:
        if exc.field.startswith("header."):
            return unprocessable(exc.field, "was used with another body; use a new key for a new question")
        return unprocessable(exc.field, f"was sent before with another body; use a new {exc.field} for a new one")

    async def unavailable(request: Request, exc: PublishFailed) -> Response:
        # The publisher tells of the outage once, not once per refused question.
        return problem_response(problem(503, "The question was not accepted; try again."), version,
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    app.add_exception_handler(FieldRefused, field_refused)
    app.add_exception_handler(IdempotencyKeyReused, key_reused)
    app.add_exception_handler(PublishFailed, unavailable)
