"""The case service's Kafka adapters: the request consumer and the outbox relay's publisher."""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from plumbing.deadletters import Refused, decode_event, refuse
from plumbing.kafka import event_record, send_all, topic_name
from plumbing.settings import KafkaSettings
from schemas import OpenCase
from schemas.topics import DEAD_LETTERS, Service
from services.case import handlers
from services.case.exceptions import UnstorableCase
from services.case.handlers import CaseStore
from services.case.store import PendingMessage

log = structlog.get_logger(__name__)
SERVICE = Service.CASES


class CaseRequestConsumer:
    """Reads case requests in batches; commits the offsets only after the batch's rows are stored."""

    def __init__(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, store: CaseStore,
                 settings: KafkaSettings, source: str, batch_size: int) -> None:
        self._consumer = consumer
        self._producer = producer
        self._store = store
        self._settings = settings
        self._source = source
        self._batch_size = batch_size

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=self._batch_size)
            if not batches:
                continue
            deliveries = [await self._handle(record) for batch in batches.values() for record in batch]
            await asyncio.gather(*(d for d in deliveries if d is not None))
            await self._commit({tp: records[-1].offset + 1 for tp, records in batches.items() if records})

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced while we worked: the new owner reads these records again,
            # and storing a case is idempotent, so that is harmless.
            log.warning("commit_skipped_after_rebalance", partitions=len(offsets))

    async def _handle(self, record: ConsumerRecord) -> asyncio.Future | None:
        try:
            request = decode_event(OpenCase, record)
            opened = await handlers.open_case(request, store=self._store, source=self._source,
                                              now=dt.datetime.now(dt.timezone.utc))
        except (Refused, UnstorableCase) as refused:
            reason = refused.reason if isinstance(refused, Refused) else f"PostgreSQL refused the case: {refused}"
            letter = refuse(record, reason, dead_letters=topic_name(self._settings, DEAD_LETTERS), source=self._source,
                            consumer=SERVICE)
            return await self._producer.send(letter.topic, letter.value, key=letter.key, headers=list(letter.headers))
        if opened:
            log.info("case_opened", case_id=request.data.case_id, department=request.data.department)
        else:
            log.info("case_request_repeated", case_id=request.data.case_id)
        return None


class OutboxPublisher:
    """Publishes outbox messages under the deployment's topic prefix and waits until Kafka has them all."""

    def __init__(self, producer: AIOKafkaProducer, settings: KafkaSettings) -> None:
        self._producer = producer
        self._settings = settings

    async def __call__(self, messages: list[PendingMessage]) -> None:
        await send_all(self._producer, [event_record(topic_name(self._settings, m.topic), m.key, m.payload)
                                        for m in messages])
