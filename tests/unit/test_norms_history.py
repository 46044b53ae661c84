"""The norms' history read at a start, on a stand-in consumer: every record before the committed offsets once,
those after left for the processor (the consumer stays at the marks), started again when the broker goes away
meanwhile, and finished when retention deletes a partition's records under it."""

from __future__ import annotations

import asyncio

from aiokafka import TopicPartition

from plumbing.kafka import CLOUDEVENT_HEADERS
from plumbing.organisation import load_organisation
from schemas.topics import DECISIONS
from services.norms.app import Measuring, read_history
from tests.builders import decision
from tests.fakes import FakeLog, record

TOPIC = "decisions"
P0, P1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


def log_of(partition: int, count: int) -> list:
    return [record(partition, n, value=decision(f"q-{partition}-{n}").to_bytes(), topic=TOPIC,
                   headers=CLOUDEVENT_HEADERS) for n in range(count)]


async def read(consumer: FakeLog) -> Measuring:
    measuring = Measuring(load_organisation())
    await asyncio.wait_for(read_history(consumer, {TOPIC: DECISIONS}, measuring, asyncio.Event(), batch_size=7),
                           timeout=10)
    return measuring


async def test_the_records_before_the_committed_offsets_are_read_once_and_the_rest_left_for_the_processor():
    consumer = FakeLog({P0: log_of(0, 30), P1: log_of(1, 12)}, committed={P0: 25, P1: 12})

    measuring = await read(consumer)

    assert measuring.reading.tally.total == 25 + 12
    assert {tp: await consumer.position(tp) for tp in (P0, P1)} == {P0: 25, P1: 12}  # the processor goes on here
    assert not consumer.paused and measuring.reading.counting


async def test_a_broker_away_during_the_read_starts_it_again_with_a_fresh_reading():
    consumer = FakeLog({P0: log_of(0, 10), P1: log_of(1, 10)}, committed={P0: 10, P1: 5}, away_for=1)

    measuring = await read(consumer)

    assert measuring.reading.tally.total == 15  # not 15 plus what a first attempt had read


async def test_records_deleted_under_the_read_by_retention_end_it_at_the_mark_not_never():
    consumer = FakeLog({P0: log_of(0, 40), P1: log_of(1, 4)}, committed={P0: 20, P1: 4})
    consumer.deletions = [(P1, 0), (P0, 30)]  # after the first fetch, all of P0 before 30 is gone

    measuring = await read(consumer)

    assert await consumer.position(P0) == 30 and measuring.reading.tally.total == 7 + 4
