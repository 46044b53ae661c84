"""Sending records while the broker goes away: one error for them all, not one asyncio error per batch."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import random
from collections.abc import Iterator

import pytest
from aiokafka.errors import KafkaTimeoutError, LeaderNotAvailableError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder, MessageBatch
from aiokafka.structs import TopicPartition

from plumbing.kafka import Record, partition_of, send_all
from tests.fakes import FakeBatch


class GoneMidBatch:
    """A producer that takes ``taken`` batches, then times out waiting for the broker's metadata; the first
    batch taken fails soon after it is handed over."""

    def __init__(self, taken: int) -> None:
        self.taken = taken
        self.futures: list[asyncio.Future] = []

    async def partitions_for(self, topic):
        return set(range(5))

    def create_batch(self):
        return FakeBatch()

    async def send_batch(self, batch, topic, *, partition) -> asyncio.Future:
        if len(self.futures) == self.taken:
            raise KafkaTimeoutError()
        future = asyncio.get_running_loop().create_future()
        if not self.futures:
            asyncio.get_running_loop().call_soon(future.set_exception, LeaderNotAvailableError())
        self.futures.append(future)
        return future


@contextlib.contextmanager
def errors_nobody_retrieved() -> Iterator[list[dict]]:
    """What the running loop would log meanwhile as an error nobody retrieved (its handler's contexts)."""
    loop = asyncio.get_running_loop()
    unretrieved: list[dict] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda loop, context: unretrieved.append(context))
    try:
        yield unretrieved
    finally:
        loop.set_exception_handler(previous)


@pytest.mark.parametrize("taken", [2, 5], ids=["a hand-over fails", "a batch fails"])
async def test_the_records_of_a_failed_batch_are_not_each_told_as_an_error_nobody_retrieved(taken):
    with errors_nobody_retrieved() as unretrieved:
        producer = GoneMidBatch(taken)
        with pytest.raises((KafkaTimeoutError, LeaderNotAvailableError)):
            await send_all(producer, [Record("t", b"k", b"v", p) for p in range(5)])  # type: ignore[arg-type]
        await asyncio.sleep(0)  # the first batch's failure arrives
        for future in producer.futures[1:]:  # the others' follow
            future.set_exception(LeaderNotAvailableError())
        del producer, future
        await asyncio.sleep(0)  # the done callbacks run
        gc.collect()
    assert unretrieved == []


@pytest.mark.parametrize("given_up", [False, True], ids=["awaited", "given up on, as send_all does after a timeout"])
async def test_a_batch_that_expired_without_a_leader_is_told_to_its_sender_not_as_an_error_nobody_retrieved(
        given_up):
    """aiokafka fails a batch's drain waiter with the batch, which only a sender waiting for room on the
    partition reads; and the batch's own future, behind the shield ``send_batch`` hands out, which nobody reads
    once the shield was cancelled."""
    with errors_nobody_retrieved() as unretrieved:
        batch = MessageBatch(TopicPartition("t", 0), BatchBuilder(1024, 0), ttl=30, linger_time=0)
        sent = asyncio.shield(batch.future)
        if given_up:
            sent.cancel()
            await asyncio.sleep(0)  # the shield lets go of the batch's future
        batch.failure(exception=LeaderNotAvailableError())
        with pytest.raises(asyncio.CancelledError if given_up else LeaderNotAvailableError):
            await sent
        del batch, sent
        gc.collect()
    assert unretrieved == []


def test_the_native_partitioner_puts_every_key_where_kafkas_own_would():
    seed = 20261202
    rng = random.Random(seed)
    for _ in range(5000):
        key = rng.randbytes(rng.randint(0, 80))
        partitions = list(range(rng.randint(1, 12)))
        expected = DefaultPartitioner()(key, partitions, partitions)
        assert partition_of(key, partitions, partitions) == expected, f"seed {seed}, key {key!r}"


async def test_records_the_broker_never_acknowledges_are_told_as_the_broker_away_after_the_request_timeout(monkeypatch):
    monkeypatch.setattr("plumbing.kafka.REQUEST_TIMEOUT_MS", 50)

    class Silent(GoneMidBatch):  # takes every batch, and the broker never answers
        async def send_batch(self, batch, topic, *, partition) -> asyncio.Future:
            self.futures.append(asyncio.get_running_loop().create_future())
            return asyncio.shield(self.futures[-1])  # as aiokafka's: the batch itself stays the producer's

    producer = Silent(taken=5)
    with pytest.raises(KafkaTimeoutError, match="no acknowledgement"):
        await send_all(producer, [Record("t", b"k", b"v", p) for p in range(3)])  # type: ignore[arg-type]
    assert len(producer.futures) == 3 and not any(f.cancelled() for f in producer.futures)  # still the producer's
