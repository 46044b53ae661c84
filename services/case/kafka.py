"""The case service's Kafka adapters: a batch of case requests stored, and the outbox relay's publisher."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import structlog
from aiokafka import AIOKafkaProducer, ConsumerRecord

from plumbing.calendar import TermCalendar
from plumbing.deadletters import DATABASE, INVALID, Refused, decode_event, refuse
from plumbing.kafka import Outgoing, Record, topic_name
from plumbing.outage import Outage
from plumbing.processor import Sender
from plumbing.retry import broker_away, database_away, until_it_works
from plumbing.settings import KafkaSettings
from schemas import CloudEvent, OpenCase, RoutingDecided
from schemas.topics import DEAD_LETTERS, Service
from services.case import handlers, metrics
from services.case.deadlines import DEFAULT_LEVELS
from services.case.handlers import CaseStore

log = structlog.get_logger(__name__)
SERVICE = Service.CASES
T = TypeVar("T")
E = TypeVar("E", bound=CloudEvent)


class _BatchHandler:
    """What the case service's batch handlers share: refused records become dead letters, and the batch's
    effect is tried again while PostgreSQL is away (capped, jittered backoff), so the processor commits
    nothing before the rows are there; a stop meanwhile leaves the batch to be delivered again."""

    def __init__(self, store: CaseStore, settings: KafkaSettings, source: str, stopping: asyncio.Event) -> None:
        self._store = store
        self._dead_letters = topic_name(settings, DEAD_LETTERS)
        self._source = source
        self._stopping = stopping
        self.database = Outage("database")

    async def _stored(self, effect: Callable[[], Awaitable[T]]) -> T:
        return await until_it_works(effect, outage=self.database, stopping=self._stopping, retry_on=database_away)

    def _decoded(self, event: type[E], records: list[ConsumerRecord], letters: list[Record]) -> dict[str, tuple[E, ConsumerRecord]]:
        """The batch's events by id (a repeat in the batch is one); what cannot be read goes to ``letters``."""
        events: dict[str, tuple[E, ConsumerRecord]] = {}
        for record in records:
            try:
                decoded = decode_event(event, record)
            except Refused as refused:
                letters.append(self._refuse(record, refused.reason))
                continue
            events.setdefault(decoded.id, (decoded, record))
        return events

    def _refuse(self, record: ConsumerRecord, reason: str, kind: str = INVALID) -> Record:
        return refuse(record, reason, dead_letters=self._dead_letters, source=self._source, consumer=SERVICE,
                      kind=kind)


class CaseRequests(_BatchHandler):
    """The processor's batch handler for case requests: every request of a batch stored in one transaction.
    Requests PostgreSQL refuses become dead letters too."""

    def __init__(self, store: CaseStore, settings: KafkaSettings, source: str, stopping: asyncio.Event, *,
                 calendar: TermCalendar = TermCalendar(), levels: Mapping[str, float] = DEFAULT_LEVELS) -> None:
        super().__init__(store, settings, source, stopping)
        self._calendar = calendar
        self._levels = levels

    async def __call__(self, records: list[ConsumerRecord]) -> list[Record]:
        letters: list[Record] = []
        requests = self._decoded(OpenCase, records, letters)
        now = dt.datetime.now(dt.timezone.utc)
        stored = await self._stored(lambda: handlers.open_cases(
            [r for r, _ in requests.values()], store=self._store, source=self._source, now=now,
            calendar=self._calendar, levels=self._levels))
        for request_id, error in stored.refused.items():
            letters.append(self._refuse(requests[request_id][1], f"PostgreSQL refused the case: {error}", DATABASE))
        if requests:
            log.info("case_requests_stored", opened=len(stored.opened), refused=len(stored.refused),
                     repeated=len(requests) - len(stored.opened) - len(stored.refused))
        return letters


class Decisions(_BatchHandler):
    """The processor's batch handler for routing decisions: each decided contact into its party's contact
    history (klantcontacten), a batch in one statement."""

    async def __call__(self, records: list[ConsumerRecord]) -> list[Record]:
        letters: list[Record] = []
        decisions = self._decoded(RoutingDecided, records, letters)
        if decisions:
            await self._stored(lambda: handlers.record_contacts([d for d, _ in decisions.values()],
                                                                store=self._store))
        return letters


class OutboxPublisher:
    """Publishes outbox messages under the deployment's topic prefix and waits until Kafka has them all.

    While the broker is away it tries again until they are out (or the service stops); a producer out of
    step with the broker afterwards is renewed. A relay stopped meanwhile publishes the messages again later:
    every message carries its event id, and consumers take a repeat as one.
    """

    def __init__(self, producer: AIOKafkaProducer, settings: KafkaSettings, *, stopping: asyncio.Event | None = None,
                 renew: Callable[[], Awaitable[AIOKafkaProducer]] | None = None) -> None:
        self.broker = Outage("broker")
        self._sender = Sender(producer, renew, self.broker)
        self._settings = settings
        self._stopping = stopping or asyncio.Event()

    @property
    def producer(self) -> AIOKafkaProducer:
        """The producer in use (a renewed one after the first broke)."""
        return self._sender.producer

    async def __call__(self, messages: list[Outgoing]) -> None:
        records = [m.record(self._settings) for m in messages]
        await until_it_works(lambda: self._sender.send_once(records), outage=self.broker, stopping=self._stopping,
                             retry_on=broker_away)
        for event_type, count in Counter(message.event_type for message in messages).items():
            metrics.EVENTS_PUBLISHED.labels(type=metrics.event_type(event_type)).inc(count)
