"""The intake's use case: accept a question into the contacts stream."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Protocol

from schemas import CloudEvent
from schemas.intake import QuestionAccepted, QuestionSubmission
from schemas.topics import CONTACTS, TopicSpec
from services.intake import domain


class Publisher(Protocol):
    async def publish(self, topic: TopicSpec, key: str, event: CloudEvent) -> None: ...


async def accept_question(
    submission: QuestionSubmission,
    *,
    publisher: Publisher,
    secret: bytes,
    source: str,
    now: dt.datetime,
    new_id: Callable[[], str],
    idempotency_key: str | None = None,
) -> QuestionAccepted:
    """Validate, pseudonymise and publish; the answer says the question is durable in the stream.

    With an idempotency key a retried submission becomes the very same event (same ids), which every
    consumer already treats as a redelivery.
    """
    event_id, contact_id = domain.ids_for(idempotency_key, new_id)
    event = domain.question_event(submission, secret=secret, source=source, now=now, event_id=event_id,
                                  contact_id=contact_id)
    await publisher.publish(CONTACTS, event.data.partition_key(), event)
    return QuestionAccepted(event_id=event.id, contact_id=event.data.contact_id)
