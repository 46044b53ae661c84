"""Entry point of ``loket router``: a thin faust agent around the one-desk handler."""

from __future__ import annotations

import asyncio
import datetime as dt

import faust

from plumbing.calendar import WorkingDayCalendar
from plumbing.deadletters import Refused, decode, refuse
from plumbing.kafka import ensure_topics, group_id, topic_name
from plumbing.logging import configure_logging
from plumbing.organisation import load_organisation
from schemas import QuestionAsked
from schemas.envelope import source_urn
from schemas.topics import CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from services.router import handlers
from services.router.settings import RouterSettings

SERVICE = "router"


def create_app(settings: RouterSettings) -> faust.App:
    """The router's faust app. At-least-once: faust flushes the producer before it commits offsets."""
    organisation = load_organisation(settings.organisation_file)
    calendar = WorkingDayCalendar(organisation.closing_days)
    source = source_urn(settings.oin, "loket-router")
    app = faust.App(
        group_id(settings, SERVICE),
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.topic_partitions,
        web_enabled=False,
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
    )
    topics = {spec: app.topic(topic_name(settings, spec)) for spec in (CONTACTS, DECISIONS, CASE_REQUESTS, DEAD_LETTERS)}

    @app.agent(topics[CONTACTS])
    async def route(stream: faust.StreamT) -> None:
        async for event in stream.events():
            message = event.message
            try:
                question = decode(QuestionAsked, message.value)
            except Refused as refused:
                key, value = refuse(message, refused.reason, source=source, consumer=SERVICE)
                await topics[DEAD_LETTERS].send(key=key, value=value)
                continue
            now = dt.datetime.now(dt.timezone.utc)
            for out in handlers.handle_question(question, organisation=organisation, calendar=calendar,
                                                source=source, now=now):
                await topics[out.topic].send(key=out.key.encode(), value=out.event.to_bytes())

    return app


def main() -> None:
    settings = RouterSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(ensure_topics(settings, [CONTACTS, DECISIONS, CASE_REQUESTS, DEAD_LETTERS]))
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
