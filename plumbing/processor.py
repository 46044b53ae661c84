"""A batch processor on a consumer group with explicit commits and per-partition state.

It reads a batch, hands each record to its topic's handler, sends every resulting record (output,
dead letters and changelog records) and waits until Kafka has them all, and only then commits the
batch's offsets: at-least-once, with one await per batch rather than per record. The commit goes on in
the background while the next batch is fetched and handled (one commit under way at a time; the offsets
of batches done meanwhile go together in the next), so a cycle is not held up by the group's coordinator;
a revocation, a sweep and a stop wait for it. A crash between
the send and the commit redelivers the batch; the state read back from the changelog leaves out what
that batch did (each changelog record names its input, see ``plumbing.changelog``), so the batch is
handled again against the very state it met the first time and yields the very same records.

Partitions move between processes in rebalances (aiokafka revokes every partition and assigns anew
each time), and records are never handled against state the process does not own or has not read
back yet:
- aiokafka returns no records while a rebalance is under way, and only records of the current
  assignment; the revocation callback waits for the batch in hand to be sent and committed;
- a partition revoked in a rebalance keeps its state aside, with the offsets committed for it; if the
  assignment that ends the rebalance gives it back and the group's committed offsets of its inputs are
  still those, nobody handled its records meanwhile, and the state is taken in again without reading it
  back (aiokafka's rebalances are eager: every one revokes everything, and reading back a million parties
  takes 12-16 s, see bench/readback.py);
- other assigned partitions are paused and their state is read back in a background task: aiokafka sends
  no heartbeats while the assignment callback runs, and a processing loop that stopped polling
  for five minutes would be thrown out of the group. Once read, the state is taken in and the
  partitions resumed, unless a rebalance came meanwhile (then it is read again). Records of such a
  partition fetched before the pause are put back (the partition rewound to them);
- a commit the group refuses means this process was thrown out and its partitions may have a new
  owner: it stops at once.

With an ``expire`` function the state is swept a little at a time (``SWEEP_CHUNK`` keys every
``SWEEP_INTERVAL`` seconds): what it forgets or trims goes out as changelog records, so the state
and its changelog do not grow for ever. Only partitions that have committed input since they were
assigned are swept, and the sweep first commits their offsets again, so a process thrown out of
the group stops before it can overwrite the new owner's state.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import (CommitFailedError, KafkaConnectionError, KafkaError, KafkaTimeoutError,
                             OutOfOrderSequenceNumber, UnknownProducerId)
from prometheus_client import REGISTRY, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from plumbing.changelog import PartitionedState, from_input, read_changelog_into
from plumbing.deadletters import guarded
from plumbing.exceptions import ConsumerFenced, StateUnavailable, Stopped
from plumbing.health import broker_unreachable
from plumbing.kafka import CLIENT_STOP_TIMEOUT, Record, send_all, stop_client
from plumbing.outage import Outage
from plumbing.retry import broker_away, until_it_works

log = structlog.get_logger(__name__)
Handler = Callable[[ConsumerRecord], list[Record]]
#: All of a batch's records of one topic in, the records to publish out: for work with I/O of its own (one
#: database transaction per batch). It refuses bad records itself (dead letters among what it returns); what
#: it raises stops the processor with nothing of the batch committed, and ``Stopped`` stops it quietly.
BatchHandler = Callable[[list[ConsumerRecord]], Awaitable[list[Record]]]
#: A partition and a stored value in, what to keep out: the same object when unchanged, ``None`` to forget the key.
Expire = Callable[[int, bytes], bytes | None]
#: A producer's errors after which it cannot go on, but a new one can.
PRODUCER_BROKEN = (OutOfOrderSequenceNumber, UnknownProducerId)
#: Seconds between two steps of the sweep. Short steps: a step holds up the batches (1,000 keys took 4-16 ms).
SWEEP_INTERVAL = 0.1
#: Seconds a fetch may wait (for records, or for a rebalance to finish) before the loop looks around.
FETCH_PATIENCE = 2.0
#: Seconds between two questions to a broker that went away, before a batch is handed to the producer again.
BROKER_PAUSE = 1.0
#: Seconds a commit may take before it counts as failed (and is tried again, the outage told).
COMMIT_PATIENCE = 10.0
#: Seconds without a send or commit after which the processor asks the broker whether it is there, so that
#: an outage is told (and its end) also while there is nothing to process.
PROBE_INTERVAL = 10.0
SWEEP_CHUNK = 100
#: Seconds the committed offset of a partition may take to arrive, for the lag: a stop is not held up longer.
LEARN_PATIENCE = 2.0

BATCH_DURATION = Histogram("loket_batch_duration_seconds", "Seconds from a batch's records in hand until Kafka "
                           "has all its output (handling, sending and waiting for the broker; its offsets are "
                           "committed after that, in the background), per service.",
                           ["service"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


class Sender:
    """Sends batches on a producer, and renews a producer whose idempotence state broke (with ``renew``).

    Once a send failed because the broker is away, the next waits until the broker answers a metadata request
    (asking every ``BROKER_PAUSE`` seconds, each failure told to ``outage``) before it hands the producer
    records: records handed over while the broker is away only wait in the producer until they expire, each
    keeping it asking for metadata (ten times a second, since ``plumbing.kafka.mend_aiokafka``; before it, in
    a loop at full CPU).
    """

    def __init__(self, producer: AIOKafkaProducer, renew: Callable[[], Awaitable[AIOKafkaProducer]] | None = None,
                 outage: Outage | None = None) -> None:
        self.producer = producer
        self.renew = renew  # a new producer, for one whose idempotence state broke
        self.outage = outage or Outage("broker")
        self._broker_left = False  # the last send failed because the broker is away

    async def send_once(self, records: list[Record]) -> None:
        """Send the records and wait until Kafka has them all. A renewed producer's batch raises a retriable
        error: the caller tries the batch again, on the new producer."""
        if self._broker_left:
            while await broker_unreachable(self.producer.client):
                self.outage.failed("no answer to a metadata request")
                await asyncio.sleep(BROKER_PAUSE)  # the wait for the broker itself, cut short by a stop
        try:
            await send_all(self.producer, records)
        except PRODUCER_BROKEN as exc:
            # After the broker came back, an idempotent producer whose batches failed can be out of step with
            # it for good. A new producer (a new producer id) sends the batch again: copies, never gaps.
            if self.renew is None:
                raise
            log.warning("producer_renewed", reason=type(exc).__name__)
            old, self.producer = self.producer, await self.renew()
            await stop_client(old, CLIENT_STOP_TIMEOUT)  # what it still holds is sent again by the new one
            raise KafkaConnectionError(f"producer renewed after {type(exc).__name__}") from exc
        except Exception as exc:
            self._broker_left = broker_away(exc)
            raise
        self._broker_left = False


@dataclass(frozen=True)
class Route:
    """What a processor does with one input topic's records: a ``handler`` for each record (``stateful``
    ones get the partition's state), or one ``batch`` handler for all of a batch's records of the topic."""

    handler: Handler | None = None
    stateful: bool = False
    batch: BatchHandler | None = None

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.batch is None):
            raise ValueError("a route has either a record handler or a batch handler")
        if self.stateful and self.batch is not None:
            raise ValueError("batch handlers keep their state themselves")


class BatchProcessor(ConsumerRebalanceListener):
    """Consume → handle → send → commit, one batch at a time. Subscribe the consumer with this as listener."""

    def __init__(self, consumer: AIOKafkaConsumer, producer: AIOKafkaProducer, routes: dict[str, Route], *,
                 reader: AIOKafkaConsumer | None = None, state: PartitionedState | None = None,
                 dead_letters: str, source: str,
                 name: str, batch_size: int, expire: Expire | None = None,
                 renew_producer: Callable[[], Awaitable[AIOKafkaProducer]] | None = None) -> None:
        self._consumer = consumer
        self._broker = Outage("broker")
        self._sender = Sender(producer, renew_producer, self._broker)
        if any(route.stateful for route in routes.values()) and (reader is None or state is None):
            raise ValueError("stateful routes need the state and a reader of its changelog")
        self._reader = reader  # group-less, for reading the changelog back
        self._state = state or PartitionedState("")
        self._routes = routes
        self._guard = dict(dead_letters=dead_letters, source=source, consumer=name)
        self._batch_size = batch_size
        self._lock = asyncio.Lock()  # held by a batch from handling to commit, and by each rebalance step
        self._unrestored: set[TopicPartition] = set()  # assigned and paused until their state is back
        self._restoring: asyncio.Task[None] | None = None
        self._generation = 0  # counts rebalance steps: state read before one is not taken in after it
        self._committed: dict[TopicPartition, int] = {}  # stateful partitions' offsets committed since assigned
        self._due: dict[TopicPartition, int] = {}  # offsets of batches Kafka has in full, to commit next
        self._committing: asyncio.Task[None] | None = None  # the commit under way, if any
        self._held_at: dict[TopicPartition, int] = {}  # committed offsets of the inputs whose state is held
        self._expire = expire
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL
        self._stopping = asyncio.Event()
        self._next_probe = time.monotonic() + PROBE_INTERVAL
        self.name = name
        self._next_learn = 0.0
        self.done: dict[TopicPartition, int] = {}  # the offsets committed (by this process, or before): lag's floor
        _LIVE.add(self)

    @property
    def producer(self) -> AIOKafkaProducer:
        """The producer in use (a renewed one after the first broke)."""
        return self._sender.producer

    @property
    def consumer(self) -> AIOKafkaConsumer:
        return self._consumer

    @property
    def topics(self) -> list[str]:
        return list(self._routes)

    async def run(self, stopping: asyncio.Event) -> None:
        """Process batches until ``stopping`` is set. While the broker is away a batch's sends and commit are
        tried again (with backoff) until they work; a stop meanwhile leaves the batch uncommitted, to be
        delivered again. Any other failed send raises, and nothing of its batch is committed."""
        self._stopping = stopping
        try:
            await self._learn_committed()
            while not stopping.is_set():
                self._follow_restore()
                self._follow_commit()
                batches = await self._fetch()
                if batches:
                    started = time.monotonic()
                    async with self._lock:
                        await self._process(batches)
                    BATCH_DURATION.labels(self.name).observe(time.monotonic() - started)
                if self._expire is not None and time.monotonic() >= self._next_sweep:
                    await self._sweep(self._expire)
                if time.monotonic() >= self._next_probe:
                    await self._probe()
                if time.monotonic() >= self._next_learn:
                    await self._learn_committed()
            await self._commits_done()  # a stop commits what was sent: nothing is delivered twice for it
        except Stopped as stopped:
            log.warning("stopped_with_batch_uncommitted", dependency=stopped.dependency)  # it is delivered again
        finally:
            for task in (self._restoring, self._committing):  # e.g. stop reading back before the reader is closed
                if task is not None and not task.done():
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)

    async def _fetch(self) -> dict[TopicPartition, list[ConsumerRecord]]:
        """The next batch, or none within ``FETCH_PATIENCE`` seconds. aiokafka's fetch waits without a bound for
        a rebalance to finish, which it cannot while the broker is away; the loop must go on meanwhile (to see
        a stop, and to ask the broker). Cancelling the fetch is safe: it takes records only once it returns."""
        try:
            async with asyncio.timeout(FETCH_PATIENCE):  # in this task: no step between the fetch and the batch
                return await self._consumer.getmany(timeout_ms=500, max_records=self._batch_size)
        except TimeoutError:
            return {}

    def _follow_restore(self) -> None:
        """Start reading back the paused partitions' state, or raise what stopped the last read-back."""
        if self._restoring is not None and self._restoring.done():
            finished, self._restoring = self._restoring, None
            finished.result()
        if self._restoring is None and self._unrestored:
            self._restoring = asyncio.create_task(self._restore(self._generation, set(self._unrestored)))

    async def _restore(self, generation: int, pending: set[TopicPartition]) -> None:
        partitions = sorted({tp.partition for tp in pending})
        started = time.monotonic()
        loading = None
        try:
            committed = {(tp.topic, tp.partition): await self._consumer.committed(tp) or 0 for tp in pending}
            unchanged = {p for p in partitions if self._unchanged(p, pending, committed)}
            loading = self._state.loading(p for p in partitions if p not in unchanged)
            to_read = [TopicPartition(self._state.changelog, p) for p in loading.slots]
            if to_read:
                await read_changelog_into(self._reader, to_read, committed, loading.apply)
        except BaseException as exc:
            if loading is not None:
                loading.discard()
            if not isinstance(exc, Exception):
                raise
            log.error("state_restore_failed", changelog=self._state.changelog, error=type(exc).__name__)
            raise StateUnavailable(f"reading back {self._state.changelog} failed: {type(exc).__name__}") from exc
        async with self._lock:
            if generation != self._generation:
                loading.discard()
                return  # a rebalance came while reading: what was read may be stale, read again
            keys = loading.keys()
            self._state.take_back(unchanged)
            self._state.install(loading)
            for tp in pending:
                self._held_at.pop(tp, None)
            self._unrestored -= pending
            self._consumer.resume(*pending)
        log.info("state_restored", changelog=self._state.changelog, partitions=partitions, kept=sorted(unchanged),
                 keys=keys, seconds=round(time.monotonic() - started, 3))

    def _unchanged(self, partition: int, pending: set[TopicPartition], committed: dict[tuple[str, int], int]) -> bool:
        """Whether the held state of a partition is still its state: the same inputs came back, and the group's
        committed offset of each is the one this process held it at (no other process handled any of them)."""
        inputs = {tp for tp in pending if tp.partition == partition}
        return (partition in self._state.held() and inputs == {tp for tp in self._held_at if tp.partition == partition}
                and all(committed[(tp.topic, tp.partition)] == self._held_at[tp] for tp in inputs))

    async def _probe(self) -> None:
        """Ask the broker whether it is there; an outage found so is told as one found by a failed send."""
        self._next_probe = time.monotonic() + PROBE_INTERVAL
        if await broker_unreachable(self._sender.producer.client):
            self._broker.failed("no answer to a metadata request")
        else:
            self._broker.succeeded()

    async def _learn_committed(self) -> None:
        """The committed offsets of assigned partitions this process has not committed to yet (for its lag)."""
        self._next_learn = time.monotonic() + PROBE_INTERVAL
        for tp in self._consumer.assignment() - self.done.keys():
            try:
                async with asyncio.timeout(LEARN_PATIENCE):
                    committed = await self._consumer.committed(tp)
            except (TimeoutError, KafkaError):
                return  # the broker is away (the probe tells it): the lag of these partitions waits
            if tp in self._consumer.assignment():
                self.done.setdefault(tp, committed or 0)

    async def _sweep(self, expire: Expire) -> None:
        self._next_sweep = time.monotonic() + SWEEP_INTERVAL
        async with self._lock:
            changes = self._state.sweep(SWEEP_CHUNK, expire, {tp.partition for tp in self._committed})
            if changes:
                await self._commits_done()  # and none under way: an older commit must not land after a newer one
                await self._commit(dict(self._committed))  # still this group's owner of them? (or stop before writing)
                await self._send(changes)
        if changes:
            log.info("state_swept", changelog=self._state.changelog, changed=len(changes))

    async def _process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        outgoing: list[Record] = []
        done: dict[TopicPartition, int] = {}
        whole: dict[str, list[ConsumerRecord]] = {}  # for batch handlers
        for tp, records in batches.items():
            route = self._routes[tp.topic]
            if route.stateful and not self._state.owns(tp.partition):
                if tp in self._consumer.assignment():  # the position moved past these records: put them back
                    self._consumer.seek(tp, records[0].offset)
                continue
            done[tp] = records[-1].offset + 1
            if route.batch is not None:
                whole.setdefault(tp.topic, []).extend(records)
                continue
            for record in records:
                produced = guarded(route.handler, record, **self._guard)
                outgoing.extend(from_input(r, record) if route.stateful and r.topic == self._state.changelog else r
                                for r in produced)
        for topic, records in whole.items():
            outgoing.extend(await self._routes[topic].batch(records))  # type: ignore[misc]
        await self._send(outgoing)
        self._commit_soon(done)

    async def _send(self, records: list[Record]) -> None:
        await until_it_works(lambda: self._sender.send_once(records), outage=self._broker, stopping=self._stopping,
                             retry_on=broker_away)
        self._next_probe = time.monotonic() + PROBE_INTERVAL  # the broker took them: no need to ask

    def _commit_soon(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit offsets whose batch Kafka has in full, in the background: the next batch need not wait for the
        group's coordinator. One commit is under way at a time; offsets that come meanwhile go together in the
        next, so batches stay large under load however short a cycle is."""
        self._due.update(offsets)
        if self._committing is None and self._due:
            due, self._due = self._due, {}
            self._committing = asyncio.create_task(self._commit(due))
            self._committing.add_done_callback(self._committed_one)

    def _committed_one(self, task: asyncio.Task[None]) -> None:
        if task is self._committing and not task.cancelled() and task.exception() is None:
            self._committing = None
            self._commit_soon({})
        # A commit that failed stays in ``_committing``: the loop raises what stopped it (``_follow_commit``).

    def _follow_commit(self) -> None:
        """Raise what stopped the last commit, if one failed."""
        if self._committing is not None and self._committing.done():
            self._committing.result()

    async def _commits_done(self) -> None:
        """Wait until every offset handed to ``_commit_soon`` is committed; raise what stopped a commit."""
        while self._committing is not None or self._due:
            task = self._committing
            if task is None:
                self._commit_soon({})
                continue
            await asyncio.wait([task])
            task.result()
            if self._committing is task:  # its callback has not run yet
                self._committing = None

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        if not offsets:
            return
        try:
            await until_it_works(lambda: self._commit_once(offsets), outage=self._broker, stopping=self._stopping,
                                 retry_on=broker_away)
            self._next_probe = time.monotonic() + PROBE_INTERVAL  # the broker took it: no need to ask
            self.done.update(offsets)
            self._committed.update((tp, o) for tp, o in offsets.items() if self._routes[tp.topic].stateful)
        except CommitFailedError as exc:
            # Not a normal rebalance (the revocation waits for this commit): the group has moved on
            # without this process, whose state may be stale by now. The batch is read again by
            # whoever owns its partitions, and its output went out before, so it is not lost.
            log.error("commit_refused_stopping", partitions=len(offsets))
            raise ConsumerFenced("the consumer group refused the commit: this process was thrown out") from exc

    async def _commit_once(self, offsets: dict[TopicPartition, int]) -> None:
        """One commit, in ``COMMIT_PATIENCE`` seconds: aiokafka's waits without a bound for the group's coordinator,
        so an outage would neither be told nor end the wait. Committing again is harmless."""
        try:
            async with asyncio.timeout(COMMIT_PATIENCE):
                await self._consumer.commit(offsets)
        except TimeoutError as exc:
            raise KafkaTimeoutError(f"no commit within {COMMIT_PATIENCE:g}s: the group's coordinator is away") from exc

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:  # the batch in hand is sent and committed first
            try:
                await self._commits_done()
            except Exception:  # noqa: BLE001 - refused, or the broker away: the loop raises it and stops
                log.warning("revoked_with_commit_failed", partitions=len(revoked))
            self._generation += 1
            stateful = {tp for tp in revoked if self._routes[tp.topic].stateful}
            owned = {tp.partition for tp in stateful} & self._state.owned()
            # Held only where the offset of every input is known: the assignment compares the group's with it.
            holdable = {p for p in owned if all(tp in self.done for tp in stateful if tp.partition == p)}
            self._state.hold(holdable)
            self._state.drop(owned - holdable)  # (held earlier and not taken in yet: kept, with their offsets)
            self._held_at.update((tp, self.done[tp]) for tp in stateful if tp.partition in holdable)
            self._unrestored -= revoked  # not read back, nor resumed, for the process that owned them
            for tp in revoked:
                self._committed.pop(tp, None)
                self.done.pop(tp, None)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:
            self._generation += 1
            stateful = {tp for tp in assigned if self._routes[tp.topic].stateful}
            self._state.drop((self._state.owned() | self._state.held()) - {tp.partition for tp in stateful})
            self._held_at = {tp: o for tp, o in self._held_at.items() if tp.partition in self._state.held()}
            self._unrestored = {tp for tp in stateful if not self._state.owns(tp.partition)}
            self._consumer.pause(*self._unrestored)


def lag(processor: BatchProcessor) -> dict[TopicPartition, int]:
    """Records behind the end of each assigned partition, from the offset committed, as far as the consumer's
    last fetch saw the end; partitions of which either is not known yet are left out."""
    consumer = processor.consumer
    behind = {}
    for tp in consumer.assignment():
        end, floor = consumer.highwater(tp), processor.done.get(tp)
        if end is not None and floor is not None:
            behind[tp] = max(end - floor, 0)
    return behind


#: The processors of this process: each service runs one, tests may run several.
_LIVE: weakref.WeakSet[BatchProcessor] = weakref.WeakSet()


class _LagCollector(Collector):
    """``loket_consumer_lag{service,topic,partition}`` at each scrape, for every processor of the process."""

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("loket_consumer_lag", "Records of a partition a service has not committed yet, "
                                   "as far as its last fetch saw the partition's end.",
                                   labels=["service", "topic", "partition"])
        for processor in list(_LIVE):
            for tp, behind in sorted(lag(processor).items()):
                family.add_metric([processor.name, tp.topic, str(tp.partition)], behind)
        yield family


REGISTRY.register(_LagCollector())
