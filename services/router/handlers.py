"""The router's handler: one question event in, the events to publish out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from plumbing.calendar import WorkingDayCalendar
from schemas import CloudEvent, OpenCase, QuestionAsked, RoutingDecided
from schemas.topics import CASE_REQUESTS, DECISIONS, TopicSpec
from services.router import domain
from services.router.domain import Classifier, Routing


@dataclass(frozen=True)
class Outgoing:
    """One event to publish, with its topic and key."""

    topic: TopicSpec
    key: str
    event: CloudEvent


def handle_question(
    question: QuestionAsked,
    *,
    classifier: Classifier,
    calendar: WorkingDayCalendar,
    source: str,
    now: dt.datetime,
) -> list[Outgoing]:
    """Route a question: its decision, keyed like the contact, and a case request keyed by case id."""
    routing = domain.route(question.id, question.data, classifier=classifier, calendar=calendar, now=now)
    return outgoing(routing, question, source=source, now=now)


def outgoing(routing: Routing, question: QuestionAsked, *, source: str, now: dt.datetime) -> list[Outgoing]:
    """Events of one routing. Their ids derive from the question's id, so a redelivery repeats them exactly."""
    key = question.data.partition_key()
    decision = RoutingDecided.create(
        source=source, data=routing.decision, subject=key, time=now, id=f"{question.id}:decision"
    )
    events = [Outgoing(DECISIONS, key, decision)]
    if routing.case is not None:
        request = OpenCase.create(
            source=source, data=routing.case, subject=routing.case.case_id, time=now, id=f"{question.id}:open-case"
        )
        events.append(Outgoing(CASE_REQUESTS, routing.case.case_id, request))
    return events
