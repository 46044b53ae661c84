"""The intake's use cases: accept a question, a channel system's report, a score or a first reply into the contacts
stream."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel

from schemas import CloudEvent
from schemas.contacts import ATTACHMENT_MAX_BYTES
from schemas.intake import QuestionAccepted, QuestionSubmission, ReplySubmission, ScoreSubmission
from schemas.topics import CONTACTS, TopicSpec
from services.intake import counter, cti, domain, idempotency
from services.intake.counter import CounterReport
from services.intake.cti import CtiReport
from services.intake.idempotency import IdempotencyMemory
from services.intake.window import ReceivedWindow


class Publisher(Protocol):
    async def publish(self, topic: TopicSpec, key: str, event: CloudEvent) -> None: ...

    async def unready_reason(self) -> str | None: ...


async def accept_question(
    submission: QuestionSubmission,
    *,
    publisher: Publisher,
    secret: bytes,
    source: str,
    now: dt.datetime,
    new_id: Callable[[], str],
    window: ReceivedWindow,
    memory: IdempotencyMemory,
    idempotency_key: str | None = None,
    attachment_max_bytes: int = ATTACHMENT_MAX_BYTES,
) -> tuple[QuestionAccepted, bool]:
    """Validate, pseudonymise and publish; the answer says the question is durable in the stream.

    Returns the answer and whether it is a replay. With an idempotency key a retry of the same body gets
    the first answer without publishing again, and the same key with another body is refused. Should the
    memory have forgotten the key, the retry still becomes the very same event (ids from key and body),
    which every consumer already treats as a redelivery.
    """
    window.check(submission.received_at, now)
    domain.check_attachments(submission.attachments, attachment_max_bytes)

    async def publish(retry_identity: str | None) -> QuestionAccepted:
        event_id, contact_id = domain.ids_for(retry_identity, new_id)
        event = domain.question_event(submission, secret=secret, source=source, now=now, event_id=event_id,
                                      contact_id=contact_id)
        await publisher.publish(CONTACTS, event.data.partition_key(), event)
        return QuestionAccepted(event_id=event.id, contact_id=event.data.contact_id)

    if idempotency_key is None:
        return await publish(None), False
    body = idempotency.fingerprint(submission)
    return await memory.once(idempotency_key, body, lambda: publish(idempotency.retry_identity(idempotency_key, body)))


async def accept_report(report: CtiReport | CounterReport, *, publisher: Publisher, secret: bytes, source: str,
                        now: dt.datetime, window: ReceivedWindow,
                        memory: IdempotencyMemory) -> tuple[QuestionAccepted, bool]:
    """Map a channel system's report (a call's, a counter visit's) onto its event and publish it. The report's
    own id is its idempotency key."""
    window.check(report.at, now, field="at")
    if isinstance(report, CtiReport):
        made, key = lambda: cti.to_event(report, secret=secret, source=source, now=now), f"cti:{report.id}"
    else:
        made, key = lambda: counter.to_event(report, secret=secret, source=source, now=now), f"counter:{report.id}"
    return await _publish_once(made, report, key, "id", publisher=publisher, memory=memory)


async def accept_score(submission: ScoreSubmission, *, publisher: Publisher, source: str, now: dt.datetime,
                       window: ReceivedWindow, memory: IdempotencyMemory) -> tuple[QuestionAccepted, bool]:
    """Publish a satisfaction score. The survey tool's response id is its idempotency key."""
    window.check(submission.scored_at, now, field="scored_at")
    return await _publish_once(lambda: domain.score_event(submission, source=source, now=now), submission,
                               f"kto:{submission.response_id}", "response_id", publisher=publisher, memory=memory)


async def accept_reply(submission: ReplySubmission, *, publisher: Publisher, source: str, now: dt.datetime,
                       window: ReceivedWindow, memory: IdempotencyMemory) -> tuple[QuestionAccepted, bool]:
    """Publish that the first reply to a contact went out. The sending system's reply id is its idempotency key."""
    window.check(submission.sent_at, now, field="sent_at")
    return await _publish_once(lambda: domain.reply_event(submission, source=source, now=now), submission,
                               f"reply:{submission.id}", "id", publisher=publisher, memory=memory)


async def _publish_once(event: Callable[[], CloudEvent], body: BaseModel, key: str, field: str, *,
                        publisher: Publisher, memory: IdempotencyMemory) -> tuple[QuestionAccepted, bool]:
    """Publish the event made for ``body``, keyed by the contact it is about (so a contact's events stay in
    order), once per ``key``: the same body sent again under it gets the first answer and is not published
    again, and should the memory have forgotten it, it is the very same event again. ``key`` came in ``field``
    (for the 422 when it comes back with another body)."""

    async def publish() -> QuestionAccepted:
        made = event()
        await publisher.publish(CONTACTS, made.data.contact_id, made)
        return QuestionAccepted(event_id=made.id, contact_id=made.data.contact_id)

    return await memory.once(key, idempotency.fingerprint(body), publish, field=field)
