"""``loket norms rebuild``: every norm computed again from the topics' history, as the service computes it live.

It reads the contacts, decisions and case events from their beginning up to their ends as the rebuild starts,
in a consumer of its own without a group (it changes nothing: no commit, no dead letter), into a fresh
``Reading``. The live service builds its reading the same way at each start and goes on from there, so the two
agree at the same moment; the test of that kills the service with SIGKILL mid-stream first."""

from __future__ import annotations

import asyncio
import datetime as dt

from plumbing.exceptions import KafkaUnavailable
from plumbing.kafka import (CLIENT_STOP_TIMEOUT, existing_topics, reading_consumer, start_consumer, stop_client,
                            topic_name)
from plumbing.organisation import Organisation
from services.norms.history import read_up_to
from services.norms.reading import READ_TOPICS, Reading
from services.norms.settings import NormsSettings


async def rebuild(settings: NormsSettings, organisation: Organisation) -> Reading:
    """The norms of ``organisation`` from the whole history of the topics as they are now."""
    specs = {topic_name(settings, spec): spec for spec in READ_TOPICS}
    # Before assigning them: a consumer assigned a topic that does not exist waits minutes for its metadata.
    missing = sorted(set(specs) - await existing_topics(settings))
    if missing:
        raise KafkaUnavailable(f"no topic {', '.join(missing)} on {settings.kafka_bootstrap}: nothing to rebuild "
                               "from (is LOKET_TOPIC_PREFIX right? the services create the topics when they start)")
    consumer = reading_consumer(settings, None, READ_TOPICS)
    try:
        await start_consumer(consumer, settings)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        reading = Reading(organisation)
        await read_up_to(consumer, specs, reading, ends, asyncio.Event(), settings.norms_batch_size)
        return reading
    finally:
        await stop_client(consumer, CLIENT_STOP_TIMEOUT)


def rebuilt_json(settings: NormsSettings, organisation: Organisation, at: dt.datetime | None,
                 staffing: bool = False) -> str:
    """The rebuilt thermometer (or staffing advice) at ``at`` (now by default), as the service's JSON."""
    reading = asyncio.run(rebuild(settings, organisation))
    moment = at or dt.datetime.now(dt.timezone.utc)
    document = reading.staffing(moment) if staffing else reading.thermometer(moment)
    return document.model_dump_json(indent=2)
