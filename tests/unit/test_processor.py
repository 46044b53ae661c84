"""The batch processor and its changelog state, on in-memory stand-ins for aiokafka's clients."""

import asyncio
import itertools
import sqlite3
from dataclasses import dataclass

import pytest
from structlog.testing import capture_logs
from aiokafka import ConsumerRecord, TopicPartition

from plumbing.changelog import INPUT_HEADER, PartitionedState, read_changelog
from plumbing.exceptions import ConsumerFenced, StateFailed, StateUnavailable
from plumbing.kafka import Record
from plumbing import processor
from plumbing.processor import BatchProcessor, Route
from tests.builders import SOURCE
from tests.fakes import FakeConsumer, FakeProducer, FakeReader, Journal, record
from tests.realstack import eventually

IN, CHANGELOG = "in", "in-changelog"


def counting(state: PartitionedState):
    """A stateful handler: counts the records per key in the state and echoes the count."""

    def handle(rec: ConsumerRecord) -> list[Record]:
        count = int(state.get(rec.partition, rec.key) or b"0") + 1
        return [Record("out", rec.key, str(count).encode()), state.put(rec.partition, rec.key, str(count).encode())]

    return handle


P0, P1 = TopicPartition(IN, 0), TopicPartition(IN, 1)


@dataclass
class Rig:
    """A processor on stand-ins, assigned partition 0; ``journal`` is what it did, in order."""

    journal: Journal
    consumer: FakeConsumer
    state: PartitionedState
    proc: BatchProcessor

    async def run_until_drained(self) -> None:
        stopping = asyncio.Event()

        async def stop_when_drained():
            while self.consumer.batches:
                await asyncio.sleep(0)
            for _ in range(20):
                await asyncio.sleep(0)
            stopping.set()

        await asyncio.gather(self.proc.run(stopping), stop_when_drained())

    async def run_until_committed(self) -> None:
        """Run until the processor commits, however long its retries wait in between."""
        stopping = asyncio.Event()
        running = asyncio.create_task(self.proc.run(stopping))
        await eventually(lambda: any(entry[0] == "commit" for entry in self.journal), timeout=20, interval=0.05)
        stopping.set()
        await running


async def rig(*, assigned=(P0,), reader=None, send_fails=False, send_delay=0.0) -> Rig:
    journal, state = Journal(), PartitionedState(CHANGELOG)
    consumer = FakeConsumer(journal, set(assigned))
    producer = FakeProducer(journal, fail=send_fails, delay=send_delay)
    proc = BatchProcessor(consumer, producer, {IN: Route(counting(state), stateful=True)},
                          reader=reader or FakeReader([]), state=state, dead_letters="dl", source=SOURCE, name="test",
                          batch_size=100)
    await proc.on_partitions_assigned({P0})
    return Rig(journal, consumer, state, proc)


async def test_a_batch_is_sent_in_full_before_its_offsets_are_committed():
    r = await rig()
    r.consumer.batches.append(({P0: [record(0, 5), record(0, 6)]}, {}))
    await r.run_until_drained()

    assert [entry[0] for entry in r.journal] == ["send"] * 4 + ["commit"]
    assert r.journal[-1] == ("commit", {0: 7})
    assert ("send", CHANGELOG, b"k", b"2", 0) in r.journal  # the state change goes to the record's own partition


async def test_state_is_read_back_from_the_changelog_before_any_record_is_handled():
    r = await rig(reader=FakeReader([(0, b"k", b"1"), (0, b"k", b"4"), (0, b"gone", b"1"), (0, b"gone", None),
                                     (1, b"k", b"9")]))
    assert not r.state.owns(0) and r.consumer.paused == {P0}  # the callback reads nothing: no heartbeats meanwhile
    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))
    await r.run_until_drained()

    assert r.consumer.paused == set()
    assert ("send", "out", b"k", b"5", 0) in r.journal  # the latest value, of its own partition only
    assert r.state.get(0, b"gone") is None  # a tombstone forgets the key
    assert not r.state.owns(1)


async def test_a_revocation_waits_for_the_batch_in_hand_to_be_sent_and_committed():
    r = await rig(send_delay=0.05)

    async def revoke():
        await r.proc.on_partitions_revoked({P0})
        r.journal.append(("revoked",))

    r.consumer.batches.append(({P0: [record(0, 0)]}, {"beside": revoke}))  # the rebalance starts while it is sent
    await r.run_until_drained()
    await asyncio.sleep(0.1)

    assert [entry[0] for entry in r.journal] == ["send", "send", "commit", "revoked"]
    assert not r.state.owns(0)  # the new owner reads it back


async def test_records_fetched_before_their_partition_was_paused_are_rewound_until_its_state_is_back():
    r = await rig(assigned=(P0, P1), reader=FakeReader([(1, b"k", b"7")]))

    async def assign_both():
        await r.proc.on_partitions_assigned({P0, P1})

    r.consumer.batches.append(({P1: [record(1, 8)]}, {"during": assign_both}))  # fetched, then paused
    r.consumer.batches.append(({P1: [record(1, 8)]}, {}))  # fetched again from where it was rewound to
    await r.run_until_drained()

    assert r.journal == [("seek", 1, 8), ("send", "out", b"k", b"8", 0), ("send", CHANGELOG, b"k", b"8", 1),
                         ("commit", {1: 9})]


async def test_a_failed_send_stops_the_processor_without_committing():
    r = await rig(send_fails=True)
    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))

    with pytest.raises(ConnectionError):
        await r.proc.run(asyncio.Event())
    assert r.journal == []


async def test_a_failed_read_back_stops_the_processor_instead_of_routing_without_state():
    r = await rig(reader=FakeReader([], fail=True))
    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))

    with pytest.raises(StateUnavailable):
        await r.proc.run(asyncio.Event())
    assert r.journal == []


async def test_a_record_the_handler_fails_on_becomes_a_dead_letter_and_the_batch_goes_on():
    r = await rig()
    r.consumer.batches.append(({P0: [record(0, 0), record(0, 1, key=b"explodes")]}, {}))
    state_put = r.state.put

    def exploding_put(partition, key, value):
        if key == b"explodes":
            raise ValueError("boom")
        return state_put(partition, key, value)

    r.state.put = exploding_put
    await r.run_until_drained()

    assert [entry[1] for entry in r.journal if entry[0] == "send"] == ["out", CHANGELOG, "dl"]
    assert r.journal[-1] == ("commit", {0: 2})


async def test_a_refused_commit_stops_the_processor_it_was_thrown_out_of_the_group():
    r = await rig()
    r.consumer.commits_allowed = 0
    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))

    with pytest.raises(ConsumerFenced):
        await r.proc.run(asyncio.Event())


async def test_a_read_back_that_gets_nowhere_gives_up_instead_of_waiting_forever():
    reader = FakeReader([(0, b"k", b"1")], stuck=True)
    with pytest.raises(StateUnavailable):
        await read_changelog(reader, [TopicPartition(CHANGELOG, 0)], {}, stall_limit=0.05)
    assert reader.positions == {}  # unassigned again


def test_a_sweep_goes_round_every_owned_partition_a_chunk_at_a_time():
    state = PartitionedState(CHANGELOG)
    state.install({0: {b"a": b"old", b"b": b"new"}, 1: {b"c": b"old"}, 2: {}})
    seen = []

    def expire(partition: int, value: bytes) -> bytes | None:
        seen.append(value)
        return None if value == b"old" else value

    first = state.sweep(2, expire, {0, 1, 2})
    second = state.sweep(1, expire, {0, 1, 2})

    assert sorted(seen) == [b"new", b"old", b"old"]  # every key once, over the two chunks
    assert len(state.sweep(5, expire, {0, 1, 2})) == 0 and seen[-1] == b"new"  # round again: only b is left
    assert state.sweep(5, expire, {1, 2}) == [] and seen[-1] == b"new"  # only the partitions asked for
    assert sorted(first + second) == [Record(CHANGELOG, b"a", None, 0), Record(CHANGELOG, b"c", None, 1)]
    assert state.get(0, b"a") is None and state.get(0, b"b") == b"new" and state.get(1, b"c") is None


async def test_the_processor_sweeps_its_state_once_it_has_committed_and_proves_it_still_may(monkeypatch):
    monkeypatch.setattr("plumbing.processor.SWEEP_INTERVAL", 0.0)
    r = await rig(reader=FakeReader([(0, b"stale", b"1"), (0, b"fresh", b"2")]))
    r.proc._expire = lambda partition, value: None if value == b"1" else value
    for _ in range(3):
        r.consumer.batches.append(({}, {}))  # idle polls: nothing committed yet, so nothing swept
    await r.run_until_drained()
    assert r.journal == [] and r.state.get(0, b"stale") == b"1"

    r.consumer.batches.append(({P0: [record(0, 0, key=b"fresh")]}, {}))
    await r.run_until_drained()

    tombstone = ("send", CHANGELOG, b"stale", None, 0)
    assert r.journal[-2:] == [("commit", {0: 1}), tombstone]  # offsets committed again just before it
    assert r.state.get(0, b"fresh") == b"3" and r.state.get(0, b"stale") is None


async def test_a_process_thrown_out_of_the_group_stops_before_its_sweep_writes_anything(monkeypatch):
    monkeypatch.setattr("plumbing.processor.SWEEP_INTERVAL", 0.0)
    r = await rig(reader=FakeReader([(0, b"stale", b"1")]))
    r.proc._expire = lambda partition, value: None if value == b"1" else value
    r.consumer.commits_allowed = 1  # the batch's commit; the sweep's is refused
    r.consumer.batches.append(({P0: [record(0, 0, key=b"other")]}, {}))

    with pytest.raises(ConsumerFenced):
        await asyncio.wait_for(r.proc.run(asyncio.Event()), timeout=5)
    assert not any(entry[:3] == ("send", CHANGELOG, b"stale") for entry in r.journal)


async def test_state_read_while_a_rebalance_came_is_read_again():
    reader = FakeReader([(0, b"k", b"1")], delay=0.02)
    r = await rig(reader=reader)

    async def rebalance():
        await r.proc.on_partitions_revoked({P0})
        await r.proc.on_partitions_assigned({P0})

    r.consumer.batches.append(({}, {"beside": rebalance}))  # while the first read-back is under way
    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))
    await r.run_until_drained()

    assert reader.reads == 2
    assert ("send", "out", b"k", b"2", 0) in r.journal


async def rebalanced_after_a_batch(meanwhile=None) -> tuple[Rig, FakeReader]:
    """P0 routed a record, was revoked and given back (``meanwhile`` in between), and routed one more."""
    reader = FakeReader([(0, b"k", b"1")])
    r = await rig(reader=reader)

    async def rebalance():
        await r.proc.on_partitions_revoked({P0})
        if meanwhile:
            meanwhile(r)
        await r.proc.on_partitions_assigned({P0})

    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))
    r.consumer.batches.append(({}, {"during": rebalance}))  # once the first batch is committed
    r.consumer.batches.append(({P0: [record(0, 7)]}, {}))
    await r.run_until_drained()
    return r, reader


async def test_a_partition_given_back_unchanged_in_a_rebalance_keeps_its_state_without_reading_it_back():
    r, reader = await rebalanced_after_a_batch()
    assert reader.reads == 1
    assert [e[3] for e in r.journal if e[:2] == ("send", "out")] == [b"2", b"3"]  # counted on from what it kept


async def test_a_partition_given_back_after_another_process_committed_in_it_is_read_back_again():
    def another_process_handled_some(r: Rig) -> None:
        r.consumer.committed_offsets[P0] = 7

    r, reader = await rebalanced_after_a_batch(another_process_handled_some)
    assert reader.reads == 2
    assert [e[3] for e in r.journal if e[:2] == ("send", "out")] == [b"2", b"2"]  # from the changelog's state


async def test_a_revoked_partition_that_goes_elsewhere_is_not_kept():
    r = await rig(assigned=(P0, P1))
    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))
    await r.run_until_drained()
    await r.proc.on_partitions_revoked({P0})
    assert r.state.held() == {0} and not r.state.owned()
    r.consumer.assigned = {P1}
    await r.proc.on_partitions_assigned({P1})
    assert r.state.held() == set()


def made_by(offset: int, topic: str = IN, partition: int = 0) -> tuple[tuple[str, bytes], ...]:
    return ((INPUT_HEADER, f"{topic}:{partition}:{offset}".encode()),)


async def test_each_changelog_record_names_the_input_record_that_made_it():
    r = await rig()
    r.consumer.batches.append(({P0: [record(0, 5), record(0, 6)]}, {}))
    await r.run_until_drained()
    assert r.proc.producer.headers[(CHANGELOG, b"k")] == list(made_by(6))
    assert r.proc.producer.headers[("out", b"k")] == []  # output records are the handler's own business


async def test_the_state_read_back_leaves_out_what_inputs_beyond_the_committed_offsets_did():
    reader = FakeReader([(0, b"k", b"1", made_by(3)), (0, b"k", b"2", made_by(4)), (0, b"swept", b"x"),
                         (0, b"k", b"3", made_by(5)), (0, b"new", b"1", made_by(6)), (0, b"other", b"7", made_by(9, "elsewhere"))])
    data = await read_changelog(reader, [TopicPartition(CHANGELOG, 0)], {(IN, 0): 5})
    assert data == {0: {b"k": b"2", b"swept": b"x", b"other": b"7"}}  # 5 and 6 are not committed: as before them


async def test_a_batch_redelivered_after_a_crash_yields_the_very_same_records_as_the_first_time():
    first = await rig()
    first.consumer.commits_allowed = 0  # the process dies, or is thrown out, between its send and its commit
    first.consumer.batches.append(({P0: [record(0, 5), record(0, 6)]}, {}))
    with pytest.raises(ConsumerFenced):
        await first.proc.run(asyncio.Event())
    sent_first = [e for e in first.journal if e[0] == "send"]
    assert [e[3] for e in sent_first if e[1] == CHANGELOG] == [b"1", b"2"]
    changelog = [(0, b"k", b"1", made_by(5)), (0, b"k", b"2", made_by(6))]  # both changes, as the broker has them

    again = await rig(reader=FakeReader(changelog))
    again.consumer.committed_offsets[P0] = 5  # nothing of the batch was committed
    again.consumer.batches.append(({P0: [record(0, 5), record(0, 6)]}, {}))
    await again.run_until_drained()
    assert [e for e in again.journal if e[0] == "send"] == sent_first  # not counted on from 2 to 3 and 4


async def test_while_the_broker_is_away_a_batch_is_sent_again_until_it_goes_and_only_then_committed():
    r = await rig()
    r.proc._sender.producer.away_for = 3
    r.consumer.batches.append(({P0: [record(0, 5)]}, {}))
    await r.run_until_committed()
    assert [entry[0] for entry in r.journal] == ["send", "send", "commit"]  # no commit before the sends went
    assert r.journal[-1] == ("commit", {0: 6})


async def test_a_service_asked_to_stop_while_the_broker_is_away_stops_with_its_batch_uncommitted():
    r = await rig()
    r.proc._sender.producer.away_for = 10**6
    r.consumer.batches.append(({P0: [record(0, 5)]}, {}))
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stopping.set)
    await asyncio.wait_for(r.proc.run(stopping), timeout=10)  # returns, without raising
    assert not any(entry[0] == "commit" for entry in r.journal)  # delivered again after the restart


async def test_a_producer_out_of_step_with_the_broker_after_an_outage_is_renewed_and_the_batch_sent_again():
    from aiokafka.errors import OutOfOrderSequenceNumber

    r = await rig()
    broken, renewed = r.proc.producer, FakeProducer(r.journal)

    async def send_out_of_step(*args, **kwargs):
        raise OutOfOrderSequenceNumber()

    async def renew():
        return renewed

    broken.send_batch, broken.stop = send_out_of_step, lambda: asyncio.sleep(0)
    r.proc._sender.renew = renew
    r.consumer.batches.append(({P0: [record(0, 5)]}, {}))
    await r.run_until_committed()
    assert r.proc.producer is renewed and [entry[0] for entry in r.journal] == ["send", "send", "commit"]



async def test_a_batch_route_gets_all_of_a_batchs_records_of_its_topic_at_once_before_the_commit():
    journal = Journal()
    consumer = FakeConsumer(journal, {P0, P1})
    seen: list[list[int]] = []

    async def store(records: list[ConsumerRecord]) -> list[Record]:
        seen.append([r.offset for r in records])
        journal.append(("stored", len(records)))
        return [Record("out", r.key, b"stored") for r in records]

    proc = BatchProcessor(consumer, FakeProducer(journal), {IN: Route(batch=store)}, dead_letters="dl",
                          source=SOURCE, name="test", batch_size=100)
    consumer.batches.append(({P0: [record(0, 5), record(0, 6)], P1: [record(1, 9)]}, {}))
    r = Rig(journal, consumer, PartitionedState(""), proc)
    await r.run_until_committed()

    assert seen == [[5, 6, 9]]  # one call, so one transaction, per batch
    assert [entry[0] for entry in journal] == ["stored", "send", "send", "send", "commit"]
    assert journal[-1] == ("commit", {0: 7, 1: 10})


def test_a_route_has_one_kind_of_handler_and_only_record_handlers_keep_state():
    async def store(records: list[ConsumerRecord]) -> list[Record]:
        return []

    with pytest.raises(ValueError):
        Route()
    with pytest.raises(ValueError):
        Route(handler=lambda record: [], batch=store)
    with pytest.raises(ValueError):
        Route(batch=store, stateful=True)


async def test_an_idle_processor_finds_an_outage_by_asking_the_broker_and_tells_it_once(monkeypatch):
    monkeypatch.setattr(processor, "PROBE_INTERVAL", 0.01)
    r = await rig()
    r.proc.producer.client.away = True
    stopping = asyncio.Event()
    with capture_logs() as told:
        running = asyncio.create_task(r.proc.run(stopping))
        await eventually(lambda: r.proc.producer.client.asked >= 3, timeout=10, interval=0.02)
        r.proc.producer.client.away = False
        await eventually(lambda: any(line["event"] == "dependency_available_again" for line in told), timeout=10,
                         interval=0.02)
        stopping.set()
        await running
    about_it = [line["event"] for line in told if line.get("dependency") == "broker"]
    assert about_it == ["dependency_unavailable", "dependency_available_again"]


async def test_a_fetch_held_up_by_a_rebalance_that_cannot_finish_neither_hides_the_outage_nor_holds_up_a_stop(
        monkeypatch):
    monkeypatch.setattr(processor, "PROBE_INTERVAL", 0.01)
    monkeypatch.setattr(processor, "FETCH_PATIENCE", 0.05)
    r = await rig()
    r.consumer.rejoining, r.proc.producer.client.away = True, True
    stopping = asyncio.Event()
    with capture_logs() as told:
        running = asyncio.create_task(r.proc.run(stopping))
        await eventually(lambda: any(line["event"] == "dependency_unavailable" for line in told), timeout=10,
                         interval=0.02)
        stopping.set()
        await asyncio.wait_for(running, 2)


async def test_a_commit_waiting_for_a_coordinator_that_is_away_is_tried_again_and_the_outage_told(monkeypatch):
    monkeypatch.setattr(processor, "COMMIT_PATIENCE", 0.05)
    r = await rig()
    r.consumer.coordinator_away_for = 2
    r.consumer.batches.append(({P0: [record(0, 5)]}, {}))
    with capture_logs() as told:
        await r.run_until_committed()
    assert r.journal[-1] == ("commit", {0: 6})
    about_it = [line["event"] for line in told if line.get("dependency") == "broker"]
    assert about_it == ["dependency_unavailable", "dependency_available_again"]


async def test_after_the_broker_left_no_records_go_to_the_producer_before_the_broker_answers_again(monkeypatch):
    monkeypatch.setattr(processor, "BROKER_PAUSE", 0.01)
    r = await rig()
    producer, tries = r.proc.producer, []
    send_batch = producer.send_batch

    async def counted_send(*args, **kwargs):
        tries.append(producer.client.away)
        return await send_batch(*args, **kwargs)

    producer.send_batch, producer.away_for, producer.client.away = counted_send, 1, True
    r.consumer.batches.append(({P0: [record(0, 5)]}, {}))
    running = asyncio.create_task(r.run_until_committed())
    await eventually(lambda: producer.client.asked >= 5, timeout=10, interval=0.01)
    producer.client.away = False
    await running
    assert tries[0] is True and True not in tries[1:]  # one try found the broker gone; none before it was back


def test_keys_read_back_stay_apart_until_installed_and_a_discarded_read_back_leaves_nothing():
    state = PartitionedState(CHANGELOG)
    state.install({0: {b"k": b"old", b"gone": b"x"}})
    loading = state.loading([0, 1])
    loading.apply({(0, b"k"): b"new", (1, b"j"): b"1"})
    loading.apply({(0, b"k"): b"newer", (0, b"gone"): None})
    assert state.get(0, b"k") == b"old" and not state.owns(1)  # still the state in use
    assert loading.keys() == 2

    state.install(loading)
    assert state.get(0, b"k") == b"newer" and state.get(0, b"gone") is None and state.get(1, b"j") == b"1"
    assert state.size() == (2, len(b"newer") + 1)

    stale = state.loading([0])
    stale.apply({(0, b"k"): b"stale"})
    stale.discard()
    assert state.get(0, b"k") == b"newer" and stale.keys() == 0


def test_a_held_partition_comes_back_with_its_keys_and_a_dropped_one_is_gone():
    state = PartitionedState(CHANGELOG)
    state.install({0: {b"a": b"1"}, 1: {b"b": b"2"}})
    state.hold([0, 1])
    assert state.held() == {0, 1} and not state.owned()
    state.take_back([0])
    state.drop([1])
    assert state.owned() == {0} and state.held() == set()
    assert state.get(0, b"a") == b"1" and state.size() == (1, 1)
    with pytest.raises(KeyError):
        state.get(1, b"b")  # not owned: its keys are its new owner's


def test_the_state_lives_off_the_python_heap_and_survives_its_periodic_commits(monkeypatch):
    import tracemalloc

    monkeypatch.setattr("plumbing.changelog.COMMIT_EVERY", 1_000)
    state = PartitionedState(CHANGELOG, cache_mib=1)
    state.install({0: {}})
    value = bytes(200)
    tracemalloc.start()
    try:
        for n in range(20_000):
            state.put(0, b"%08d" % n, value)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 1_000_000  # four megabytes of state, next to nothing of it Python objects
    assert state.size() == (20_000, 20_000 * 200) and state.get(0, b"%08d" % 12_345) == value


def sent(r: Rig) -> int:
    return sum(entry[:2] == ("send", "out") for entry in r.journal)


async def test_batches_go_on_while_a_commit_is_under_way_and_the_offsets_that_came_meanwhile_commit_together():
    r = await rig()
    gate = r.consumer.commit_gate = asyncio.Event()  # the group's coordinator is slow to answer
    r.consumer.batches.extend(({P0: [record(0, n)]}, {}) for n in range(3))
    stopping = asyncio.Event()
    running = asyncio.create_task(r.proc.run(stopping))

    await eventually(lambda: sent(r) == 3)  # every batch handled and sent while the first commit waits
    assert not any(entry[0] == "commit" for entry in r.journal)
    gate.set()
    await eventually(lambda: ("commit", {0: 3}) in r.journal)
    stopping.set()
    await running
    assert [entry for entry in r.journal if entry[0] == "commit"] == [("commit", {0: 1}), ("commit", {0: 3})]


async def test_a_revocation_waits_for_the_commit_under_way_and_a_stop_commits_what_was_sent():
    r = await rig()
    gate = r.consumer.commit_gate = asyncio.Event()
    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))
    stopping = asyncio.Event()
    running = asyncio.create_task(r.proc.run(stopping))
    await eventually(lambda: sent(r) == 1)

    revoking = asyncio.create_task(r.proc.on_partitions_revoked({P0}))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not revoking.done()  # the partition's next owner must start from the offsets of what was sent
    gate.set()
    await revoking
    assert r.journal[-1] == ("commit", {0: 1}) and r.state.held() == {0}

    await r.proc.on_partitions_assigned({P0})
    gate = r.consumer.commit_gate = asyncio.Event()
    r.consumer.batches.append(({P0: [record(0, 1)]}, {}))
    await eventually(lambda: sent(r) == 2)
    stopping.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert not running.done()  # the stop waits for the commit
    gate.set()
    await running
    assert r.journal[-1] == ("commit", {0: 2})  # committed on the way out, not left to be delivered again


async def test_a_state_store_that_fails_stops_the_processor_with_nothing_committed_and_nothing_parked(monkeypatch):
    monkeypatch.setattr("plumbing.changelog.WRITE_BEHIND", 1)  # every change written at once
    r = await rig()
    running = asyncio.create_task(r.proc.run(asyncio.Event()))
    await eventually(lambda: r.state.owns(0))  # read back, and waiting for records
    db = r.state._db
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")  # the disk is full
    with pytest.raises(sqlite3.OperationalError, match="full"):  # (without a journal this leaves the file unusable)
        for n in itertools.count():
            db.execute("INSERT INTO kv VALUES (?, ?, ?)", (999, b"%d" % n, bytes(500)))

    r.consumer.batches.append(({P0: [record(0, 0)]}, {}))
    try:
        with pytest.raises(StateFailed):
            async with asyncio.timeout(30):  # (a processor that parks the record instead goes on for ever)
                await running
    finally:
        running.cancel()
    assert not any(entry[0] in ("send", "commit") for entry in r.journal)  # no dead letter: delivered again
