"""Entry point of ``loket router``: a thin faust agent around the one-desk handler."""

from __future__ import annotations

import asyncio
import datetime as dt

import faust

from plumbing.calendar import WorkingDayCalendar
from plumbing.deadletters import Refused, decode, refuse
from plumbing.kafka import ensure_topics, topic_name
from plumbing.logging import configure_logging
from plumbing.organisation import load_organisation
from plumbing.streams import Record, publish, stream_app
from schemas import QuestionAsked
from schemas.envelope import source_urn
from schemas.topics import CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from services.router import handlers
from services.router.domain import Classifier
from services.router.settings import RouterSettings

SERVICE = "router"


def create_app(settings: RouterSettings) -> faust.App:
    """The router's faust app: batches of questions in, decisions and case requests out."""
    organisation = load_organisation(settings.organisation_file)
    calendar = WorkingDayCalendar(organisation.closing_days)
    classifier = Classifier(organisation)
    source = source_urn(settings.oin, "loket-router")
    app = stream_app(settings, SERVICE)
    contacts = app.topic(topic_name(settings, CONTACTS))
    dead_letters = topic_name(settings, DEAD_LETTERS)

    def records_for(message: faust.types.Message) -> list[Record]:
        try:
            question = decode(QuestionAsked, message.value)
        except Refused as refused:
            key, value = refuse(message, refused.reason, source=source, consumer=SERVICE)
            return [(dead_letters, key, value)]
        now = dt.datetime.now(dt.timezone.utc)
        outgoing = handlers.handle_question(question, classifier=classifier, calendar=calendar, source=source, now=now)
        return [(topic_name(settings, o.topic), o.key.encode(), o.event.to_bytes()) for o in outgoing]

    @app.agent(contacts)
    async def route(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.router_batch_size, within=0.05):
            await publish(app, [record for event in events for record in records_for(event.message)])

    return app


def main() -> None:
    settings = RouterSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(ensure_topics(settings, [CONTACTS, DECISIONS, CASE_REQUESTS, DEAD_LETTERS]))
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
