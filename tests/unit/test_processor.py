"""The batch processor and its changelog state, on in-memory stand-ins for aiokafka's clients."""

import asyncio

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError

from plumbing.changelog import PartitionedState, read_changelog
from plumbing.exceptions import ConsumerFenced, StateUnavailable
from plumbing.kafka import Record
from plumbing.processor import BatchProcessor, Route
from tests.builders import SOURCE

IN, CHANGELOG = "in", "in-changelog"


def record(partition: int, offset: int, key: bytes = b"k", value: bytes | None = b"v", topic: str = IN) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key), len(value or b""), ())


class Journal(list):
    """What the stand-ins did, in order."""


class FakeProducer:
    def __init__(self, journal: Journal, fail: bool = False, delay: float = 0.0) -> None:
        self.journal, self.fail, self.delay = journal, fail, delay

    async def send(self, topic, value, key=None, partition=None):
        if self.fail:
            raise ConnectionError("broker gone")
        self.journal.append(("send", topic, key, value, partition))
        return asyncio.ensure_future(asyncio.sleep(self.delay))


class FakeConsumer:
    """Hands out queued batches; with a batch it may run a rebalance step, as aiokafka's coordinator would:
    ``during`` the fetch (its callback runs before the batch is returned) or ``beside`` the processing."""

    def __init__(self, journal: Journal, assigned: set[TopicPartition]) -> None:
        self.journal, self.assigned = journal, assigned
        self.batches: list = []  # (batch, {"during": step} or {"beside": step} or {})
        self.paused: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused |= set(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused -= set(partitions)

    async def getmany(self, timeout_ms: int, max_records: int):
        if not self.batches:
            await asyncio.sleep(0)
            return {}
        batch, steps = self.batches.pop(0)
        if "during" in steps:
            await steps["during"]()
        if "beside" in steps:
            asyncio.get_running_loop().create_task(steps["beside"]())
        return batch

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.journal.append(("seek", tp.partition, offset))

    fenced = False

    async def commit(self, offsets):
        if self.fenced:
            raise CommitFailedError("the group has already rebalanced")
        self.journal.append(("commit", {tp.partition: o for tp, o in offsets.items()}))


class FakeReader:
    """A changelog of (partition, key, value) records, read back like a group-less consumer would."""

    def __init__(self, changelog: list[tuple[int, bytes, bytes | None]], fail: bool = False, stuck: bool = False) -> None:
        self.changelog, self.fail, self.stuck, self.positions = changelog, fail, stuck, {}

    def assign(self, partitions):
        self.positions = {tp: 0 for tp in partitions}

    async def seek_to_beginning(self, *partitions):
        for tp in partitions:
            self.positions[tp] = 0

    async def end_offsets(self, partitions):
        if self.fail:
            raise ConnectionError("broker gone")
        return {tp: len(self._records(tp.partition)) for tp in partitions}

    async def position(self, tp):
        return self.positions[tp]

    async def getmany(self, *partitions, timeout_ms, max_records):
        if self.stuck:  # the broker does not serve the changelog
            await asyncio.sleep(0.001)
            return {}
        out = {}
        for tp in partitions:
            records = self._records(tp.partition)[self.positions[tp]:]
            out[tp] = [record(tp.partition, self.positions[tp] + i, k, v, topic=CHANGELOG) for i, (k, v) in enumerate(records)]
            self.positions[tp] += len(records)
        return out

    def unsubscribe(self):
        self.positions = {}

    def _records(self, partition: int) -> list[tuple[bytes, bytes | None]]:
        return [(k, v) for p, k, v in self.changelog if p == partition]


def counting(state: PartitionedState):
    """A stateful handler: counts the records per key in the state and echoes the count."""

    def handle(rec: ConsumerRecord) -> list[Record]:
        count = int(state.get(rec.partition, rec.key) or b"0") + 1
        return [Record("out", rec.key, str(count).encode()), state.put(rec.partition, rec.key, str(count).encode())]

    return handle


def processor(journal, consumer, state, *, producer=None, reader=None):
    return BatchProcessor(consumer, producer or FakeProducer(journal), reader or FakeReader([]), state,
                          {IN: Route(counting(state), stateful=True)}, dead_letters="dl", source=SOURCE,
                          name="test", batch_size=100)


async def run_until_drained(proc: BatchProcessor, consumer: FakeConsumer) -> None:
    stopping = asyncio.Event()

    async def stop_when_drained():
        while consumer.batches:
            await asyncio.sleep(0)
        for _ in range(20):
            await asyncio.sleep(0)
        stopping.set()

    await asyncio.gather(proc.run(stopping), stop_when_drained())


P0 = TopicPartition(IN, 0)


async def test_a_batch_is_sent_in_full_before_its_offsets_are_committed():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, {P0})
    proc = processor(journal, consumer, state)
    await proc.on_partitions_assigned({P0})
    consumer.batches.append(({P0: [record(0, 5), record(0, 6)]}, {}))
    await run_until_drained(proc, consumer)

    assert [entry[0] for entry in journal] == ["send"] * 4 + ["commit"]
    assert journal[-1] == ("commit", {0: 7})
    assert ("send", CHANGELOG, b"k", b"2", 0) in journal  # the state change goes to the record's own partition


async def test_state_is_read_back_from_the_changelog_before_any_record_is_handled():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, {P0})
    reader = FakeReader([(0, b"k", b"1"), (0, b"k", b"4"), (0, b"gone", b"1"), (0, b"gone", None), (1, b"k", b"9")])
    proc = processor(journal, consumer, state, reader=reader)
    await proc.on_partitions_assigned({P0})
    assert not state.owns(0) and consumer.paused == {P0}  # the callback reads nothing: no heartbeats meanwhile
    consumer.batches.append(({P0: [record(0, 0)]}, {}))
    await run_until_drained(proc, consumer)

    assert consumer.paused == set()
    assert ("send", "out", b"k", b"5", None) in journal  # the latest value, of its own partition only
    assert state.get(0, b"gone") is None  # a tombstone forgets the key
    assert not state.owns(1)


async def test_a_revocation_waits_for_the_batch_in_hand_to_be_sent_and_committed():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, {P0})
    proc = processor(journal, consumer, state, producer=FakeProducer(journal, delay=0.05))
    await proc.on_partitions_assigned({P0})

    async def revoke():
        await proc.on_partitions_revoked({P0})
        journal.append(("revoked",))

    consumer.batches.append(({P0: [record(0, 0)]}, {"beside": revoke}))  # the rebalance starts while it is sent
    await run_until_drained(proc, consumer)
    await asyncio.sleep(0.1)

    assert [entry[0] for entry in journal] == ["send", "send", "commit", "revoked"]
    assert not state.owns(0)  # the new owner reads it back


async def test_records_fetched_before_their_partition_was_paused_are_rewound_until_its_state_is_back():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    p1 = TopicPartition(IN, 1)
    consumer = FakeConsumer(journal, {P0, p1})
    proc = processor(journal, consumer, state, reader=FakeReader([(1, b"k", b"7")]))
    await proc.on_partitions_assigned({P0})

    async def assign_both():
        await proc.on_partitions_assigned({P0, p1})

    consumer.batches.append(({P0: [record(0, 0)], p1: [record(1, 8)]}, {"during": assign_both}))
    consumer.batches.append(({p1: [record(1, 8)]}, {}))  # fetched again from where it was rewound to
    await run_until_drained(proc, consumer)

    assert journal[:4] == [("seek", 1, 8), ("send", "out", b"k", b"1", None), ("send", CHANGELOG, b"k", b"1", 0),
                           ("commit", {0: 1})]
    assert journal[4:] == [("send", "out", b"k", b"8", None), ("send", CHANGELOG, b"k", b"8", 1), ("commit", {1: 9})]


async def test_a_failed_send_stops_the_processor_without_committing():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, {P0})
    proc = processor(journal, consumer, state, producer=FakeProducer(journal, fail=True))
    await proc.on_partitions_assigned({P0})
    consumer.batches.append(({P0: [record(0, 0)]}, {}))

    with pytest.raises(ConnectionError):
        await proc.run(asyncio.Event())
    assert journal == []


async def test_a_failed_read_back_stops_the_processor_instead_of_routing_without_state():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, {P0})
    proc = processor(journal, consumer, state, reader=FakeReader([], fail=True))
    await proc.on_partitions_assigned({P0})
    consumer.batches.append(({P0: [record(0, 0)]}, {}))

    with pytest.raises(StateUnavailable):
        await proc.run(asyncio.Event())
    assert journal == []


async def test_a_record_the_handler_refuses_becomes_a_dead_letter_and_the_batch_goes_on():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, {P0})
    proc = processor(journal, consumer, state)
    await proc.on_partitions_assigned({P0})
    consumer.batches.append(({P0: [record(0, 0), record(0, 1, key=b"explodes")]}, {}))
    state_put = state.put

    def exploding_put(partition, key, value):
        if key == b"explodes":
            raise ValueError("boom")
        return state_put(partition, key, value)

    state.put = exploding_put
    await run_until_drained(proc, consumer)

    assert [entry[1] for entry in journal if entry[0] == "send"] == ["out", CHANGELOG, "dl"]
    assert journal[-1] == ("commit", {0: 2})


async def test_a_refused_commit_stops_the_processor_it_was_thrown_out_of_the_group():
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, {P0})
    consumer.fenced = True
    proc = processor(journal, consumer, state)
    await proc.on_partitions_assigned({P0})
    consumer.batches.append(({P0: [record(0, 0)]}, {}))

    with pytest.raises(ConsumerFenced):
        await proc.run(asyncio.Event())


async def test_a_read_back_that_gets_nowhere_gives_up_instead_of_waiting_forever():
    reader = FakeReader([(0, b"k", b"1")], stuck=True)
    with pytest.raises(StateUnavailable):
        await read_changelog(reader, [TopicPartition(CHANGELOG, 0)], stall_limit=0.05)
    assert reader.positions == {}  # unassigned again
