"""Entry point of ``loket norms``: a thin faust agent on the decisions, and the HTTP server."""

from __future__ import annotations

import asyncio
from functools import partial

import faust

from plumbing.deadletters import decode_event, guarded
from plumbing.http import EmbeddedHttp
from plumbing.kafka import Record, ensure_topics, topic_name
from plumbing.logging import configure_logging
from plumbing.streams import publish, stream_app
from schemas import RoutingDecided
from schemas.envelope import source_urn
from schemas.topics import DEAD_LETTERS, DECISIONS, Service
from services.norms import handlers, metrics
from services.norms.domain import OutcomeTally, RecentIds
from services.norms.http import create_http_app
from services.norms.settings import NormsSettings

SERVICE = Service.NORMS


def create_app(settings: NormsSettings) -> faust.App:
    source = source_urn(settings.oin, "loket-norms")
    tally, seen = OutcomeTally(), RecentIds()
    app = stream_app(settings, SERVICE)
    decisions = app.topic(topic_name(settings, DECISIONS))
    guard = partial(guarded, dead_letters=topic_name(settings, DEAD_LETTERS), source=source, consumer=SERVICE)

    def measured(message: faust.types.Message) -> list[Record]:
        handlers.record_decision(decode_event(RoutingDecided, message), tally, seen)
        return []

    @app.agent(decisions)
    async def measure(stream: faust.StreamT) -> None:
        async for events in stream.take_events(1000, within=0.05):
            parked = [r for event in events for r in guard(measured, event.message)]
            metrics.RECORDS_REFUSED.inc(len(parked))
            await publish(app, parked)

    return app


def main() -> None:
    settings = NormsSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(ensure_topics(settings, [DECISIONS, DEAD_LETTERS]))
    app = create_app(settings)
    http = EmbeddedHttp(create_http_app(), settings.norms_host, settings.norms_port)
    faust.Worker(app, http, loglevel=settings.log_level.upper(), quiet=True).execute_from_commandline()
