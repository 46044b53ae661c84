"""A batch processor on a consumer group with explicit commits and per-partition state.

It reads a batch, hands each record to its topic's handler, sends every resulting record (output,
dead letters and changelog records) and waits until Kafka has them all, and only then commits the
batch's offsets: at-least-once, with one await per batch rather than per record. A crash between
the send and the commit redelivers the batch, and the state, restored from its changelog, already
holds what the batch did: handlers use it to repeat themselves instead of acting twice.

Partitions move between processes in rebalances. Records are never handled against state the process
no longer owns or has not read back yet. aiokafka returns no records while a rebalance is under way,
and only records of the current assignment; the revocation callback waits for the batch in hand to
be sent and committed; and records of a partition that is assigned but whose state is still being
read back are put back (the partition rewound to them), to be fetched again once it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from plumbing.changelog import PartitionedState
from plumbing.deadletters import guarded
from plumbing.exceptions import StateUnavailable
from plumbing.kafka import Record, send_all

log = structlog.get_logger(__name__)
Handler = Callable[[ConsumerRecord], list[Record]]


@dataclass(frozen=True)
class Route:
    """What a processor does with one input topic's records; ``stateful`` ones need the partition's state."""

    handler: Handler
    stateful: bool = False


class BatchProcessor(ConsumerRebalanceListener):
    """Consume → handle → send → commit, one batch at a time. Subscribe the consumer with this as listener."""

    def __init__(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, reader: AIOKafkaConsumer,
                 state: PartitionedState, routes: dict[str, Route], *, dead_letters: str, source: str,
                 name: str, batch_size: int) -> None:
        self._consumer = consumer
        self._producer = producer
        self._reader = reader  # group-less, for reading the changelog back
        self._state = state
        self._routes = routes
        self._guard = dict(dead_letters=dead_letters, source=source, consumer=name)
        self._batch_size = batch_size
        self._lock = asyncio.Lock()  # held by a batch from handling to commit, and by each rebalance step
        self._failure: BaseException | None = None

    @property
    def topics(self) -> list[str]:
        return list(self._routes)

    async def run(self, stopping: asyncio.Event) -> None:
        """Process batches until ``stopping`` is set. A failed send raises, and nothing of its batch is committed."""
        while not stopping.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=self._batch_size)
            if self._failure is not None:
                raise StateUnavailable(f"reading back {self._state.changelog} failed") from self._failure
            if batches:
                async with self._lock:
                    await self._process(batches)

    async def _process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        outgoing: list[Record] = []
        done: dict[TopicPartition, int] = {}
        for tp, records in batches.items():
            if self._routes[tp.topic].stateful and not self._state.owns(tp.partition):
                if tp in self._consumer.assignment():  # the position moved past these records: put them back
                    self._consumer.seek(tp, records[0].offset)
                continue
            handler = self._routes[tp.topic].handler
            for record in records:
                outgoing.extend(guarded(handler, record, **self._guard))
            done[tp] = records[-1].offset + 1
        await send_all(self._producer, outgoing)
        await self._commit(done)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
        except CommitFailedError:
            # The group rebalanced while the batch was sent: whoever owns these partitions now reads
            # the batch again, and finds its effect in the state (the changelog went out first).
            log.warning("commit_skipped_after_rebalance", partitions=len(offsets))

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:  # the batch in hand is sent and committed first
            self._state.drop({tp.partition for tp in revoked if self._routes[tp.topic].stateful})

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:  # no batch is handled before its partitions' state is back
            partitions = {tp.partition for tp in assigned if self._routes[tp.topic].stateful}
            self._state.drop(self._state.owned() - partitions)
            try:
                await self._state.restore(self._reader, partitions)
            except Exception as exc:  # noqa: BLE001 — aiokafka would only log it; run() stops the process
                log.error("state_restore_failed", changelog=self._state.changelog, error=type(exc).__name__)
                self._failure = exc
