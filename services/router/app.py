"""Entry point of ``loket router``: thin faust agents around the one-desk handlers.

State per party lives in a faust table keyed by pseudonym (the contacts topic's key; a question
keyed otherwise is refused, or its state would land in another worker's partition). A changed
state is put in the table's local store and its changelog record is published with the batch's
decisions, to the partition the question came from (so changelog partitions line up with it):
state and decisions are durable together before faust acks the batch, and the router skips faust's
per-key changelog path, which cost it two fifths of its throughput. On restart faust restores the
table from that changelog. Case events are keyed by case id; resolved cases are re-keyed by
pseudonym onto an internal topic first, so the table is only ever updated in the partition that
owns the party. One lock serialises the two agents that write the table, so that the order of
the changelog records is the order of the writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import partial

import faust

from plumbing.calendar import WorkingDayCalendar
from plumbing.deadletters import Refused, decode, decode_one_of
from plumbing.kafka import ensure_topics, group_id, topic_name
from plumbing.logging import configure_logging
from plumbing.organisation import load_organisation
from plumbing.streams import Record, guarded, publish, stream_app
from schemas import CaseResolved, QuestionAsked
from schemas.envelope import source_urn
from schemas.topics import CASE_EVENTS, CASE_REQUESTS, CONTACTS, DEAD_LETTERS, DECISIONS
from services.router import handlers
from services.router.domain import Classifier, PartyState
from services.router.settings import RouterSettings

SERVICE = "router"
#: Party states kept parsed in memory beside their stored bytes.
PARSED_STATES = 100_000


def create_app(settings: RouterSettings) -> faust.App:
    """The router's faust app: batches of questions in, decisions and case requests out."""
    organisation = load_organisation(settings.organisation_file)
    calendar = WorkingDayCalendar(organisation.closing_days)
    classifier = Classifier(organisation)
    source = source_urn(settings.oin, "loket-router")
    app = stream_app(settings, SERVICE)
    parties = app.Table("party-state", default=None, partitions=settings.topic_partitions, key_type=bytes,
                        value_type=bytes, use_partitioner=True)
    contacts = app.topic(topic_name(settings, CONTACTS))
    case_events = app.topic(topic_name(settings, CASE_EVENTS))
    closures = app.topic(f"{group_id(settings, SERVICE)}-case-closures", internal=True,
                         partitions=settings.topic_partitions, key_serializer="raw", value_serializer="raw")
    guard = partial(guarded, dead_letters=topic_name(settings, DEAD_LETTERS), source=source, consumer=SERVICE)

    parsed: dict[bytes, tuple[bytes, PartyState]] = {}  # key -> (stored bytes, their parse): saves a parse

    def party_state(key: bytes) -> PartyState | None:
        raw = parties.get(key)
        if not raw:
            return None
        known = parsed.get(key)
        if known is not None and known[0] is raw:
            return known[1]
        return PartyState.model_validate_json(raw)

    writing = asyncio.Lock()

    def remember(message: faust.types.Message, before: PartyState | None, after: PartyState | None) -> list[Record]:
        """Put the new state in the store; its changelog record goes out with the batch. Call it last."""
        if after is None or after == before:
            return []
        value = after.model_dump_json().encode()
        parties.data[message.key] = value
        if len(parsed) >= PARSED_STATES:
            parsed.clear()
        parsed[message.key] = (value, after)
        return [Record(parties.changelog_topic.get_topic_name(), message.key, value, message.partition)]

    def route_one(message: faust.types.Message) -> list[Record]:
        question = decode(QuestionAsked, message.value)
        party = question.data.party
        if party and message.key != party.pseudonym.encode():
            raise Refused("the record's key is not the party's pseudonym (contacts are keyed by pseudonym)")
        state = party_state(message.key) if party else None
        outgoing, new_state = handlers.handle_question(question, state, classifier=classifier, calendar=calendar,
                                                       source=source, now=dt.datetime.now(dt.timezone.utc))
        records = [Record(topic_name(settings, o.topic), o.key.encode(), o.event.to_bytes()) for o in outgoing]
        return records + (remember(message, state, new_state) if party else [])

    @app.agent(contacts)
    async def route(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.router_batch_size, within=0.05):
            async with writing:
                await publish(app, [r for event in events for r in guard(route_one, event.message)])

    def rekey_one(message: faust.types.Message) -> list[Record]:
        event = decode_one_of(CASE_EVENTS.events, message.value)
        if isinstance(event, CaseResolved) and event.data.party_pseudonym:
            return [Record(closures.get_topic_name(), event.data.party_pseudonym.encode(), message.value)]
        return []

    @app.agent(case_events)
    async def rekey_case_events(stream: faust.StreamT) -> None:
        async for events in stream.take_events(500, within=0.1):
            await publish(app, [r for event in events for r in guard(rekey_one, event.message)])

    def close_one(message: faust.types.Message) -> list[Record]:
        resolved = CaseResolved.model_validate_json(message.value)  # validated before re-keying
        state = party_state(message.key)
        return remember(message, state, handlers.handle_case_resolved(resolved, state))

    @app.agent(closures)
    async def close_cases(stream: faust.StreamT) -> None:
        async for events in stream.take_events(100, within=0.1):
            async with writing:
                await publish(app, [r for event in events for r in guard(close_one, event.message)])

    return app


def main() -> None:
    settings = RouterSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(ensure_topics(settings, [CONTACTS, DECISIONS, CASE_REQUESTS, CASE_EVENTS, DEAD_LETTERS]))
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()
