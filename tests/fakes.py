"""In-memory fakes of the ports, for unit tests and for the store contract tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError

from services.case.domain import SYSTEM, NewCase
from services.case.store import Contact, Stored, StoredCase


class FakeCaseStore:
    """Behaves like PgCaseStore: a request whose request id or case id is stored already is left out.

    ``away_for`` attempts fail as asyncpg does when the server is gone; a case type in ``refuses`` is data
    PostgreSQL would refuse."""

    def __init__(self, away_for: int = 0, refuses: frozenset[str] = frozenset()) -> None:
        self.cases: dict[str, StoredCase] = {}
        self.outbox: list[tuple[str, str, bytes]] = []
        self.inbox: set[str] = set()
        self.history: list[tuple[str, str, str, str]] = []  # case id, status, action, by
        self.contacts: dict[str, Contact] = {}
        self.away_for = away_for
        self.refuses = refuses
        self.attempts = 0

    async def add_all(self, cases: Sequence[NewCase]) -> Stored:
        self.attempts += 1
        if self.attempts <= self.away_for:
            raise ConnectionRefusedError("database unreachable")
        stored = Stored()
        for case in cases:
            data = case.request.data
            if data.case_type in self.refuses:
                stored.refused[case.request.id] = "CharacterNotInRepertoireError"
                continue
            if case.request.id in self.inbox:
                continue
            self.inbox.add(case.request.id)
            if data.case_id in self.cases:
                continue
            self.cases[data.case_id] = StoredCase(
                case_id=data.case_id, request_id=case.request.id, case_type=data.case_type,
                department=data.department, subject_code=data.subject_code, status="registered",
                service_due=data.due_date, legal_due=case.legal_due,
                party_pseudonym=data.party.pseudonym if data.party else None,
            )
            self.history.append((data.case_id, "registered", "opened", SYSTEM))
            self.outbox.extend((m.topic, m.key, m.value) for m in case.announcements)
            stored.opened.append(data.case_id)
        return stored

    async def add_contacts(self, contacts: Sequence[Contact]) -> int:
        new = [c for c in contacts if c.question_id not in self.contacts]
        self.contacts.update((c.question_id, c) for c in new)
        return len(new)

    async def get(self, case_id: str) -> StoredCase | None:
        return self.cases.get(case_id)


def record(partition: int, offset: int, key: bytes = b"k", value: bytes | None = b"v", topic: str = "in",
           headers: tuple[tuple[str, bytes], ...] = ()) -> ConsumerRecord:
    return ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key), len(value or b""), headers)


class Journal(list):
    """What the stand-ins did, in order."""


class FakeClient:
    """The producer's cluster client: answers metadata requests unless the broker is ``away``."""

    def __init__(self) -> None:
        self.away = False
        self.asked = 0

    async def fetch_all_metadata(self) -> None:
        self.asked += 1
        if self.away:
            raise KafkaConnectionError("Unable to bootstrap from 127.0.0.1:9092")


class FakeBatch:
    """What ``producer.create_batch()`` gives: records appended in order; never full."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None, list]] = []

    def append(self, *, timestamp, key, value, headers):
        self.records.append((key, value, list(headers or [])))
        return True


class FakeProducer:
    """Takes batches as aiokafka's producer does (``send_all`` sends no other way); journals each record with
    the partition it went to. Its topics have ``partitions`` partitions."""

    def __init__(self, journal: Journal, fail: bool = False, delay: float = 0.0, away_for: int = 0,
                 partitions: int = 1) -> None:
        self.journal, self.fail, self.delay = journal, fail, delay
        self.away_for = away_for  # this many batches fail as they do while the broker is away
        self.partitions = partitions
        self.headers: dict[tuple[str, bytes | None], list] = {}  # (topic, key) -> headers sent with it
        self.client = FakeClient()

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    def create_batch(self) -> FakeBatch:
        return FakeBatch()

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> asyncio.Future:
        if self.fail:
            raise ConnectionError("broker gone")
        if self.away_for:
            self.away_for -= 1
            raise KafkaConnectionError("Unable to bootstrap from 127.0.0.1:9092")
        for key, value, headers in batch.records:
            self.journal.append(("send", topic, key, value, partition))
            self.headers[(topic, key)] = headers
        return asyncio.ensure_future(asyncio.sleep(self.delay))


class FakeConsumer:
    """Hands out queued batches; with a batch it may run a rebalance step, as aiokafka's coordinator would:
    ``during`` the fetch (its callback runs before the batch is returned) or ``beside`` the processing."""

    def __init__(self, journal: Journal, assigned: set[TopicPartition]) -> None:
        self.journal, self.assigned = journal, assigned
        self.batches: list = []  # (batch, {"during": step} or {"beside": step} or {})
        self.paused: set[TopicPartition] = set()
        self.committed_offsets: dict[TopicPartition, int] = {}  # what the group has committed

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused |= set(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        if not set(partitions) <= self.assigned:
            raise AssertionError("aiokafka refuses to resume a partition it is not assigned")
        self.paused -= set(partitions)

    rejoining = False  # then a fetch waits, as aiokafka's does for a rebalance the broker's absence holds up

    async def getmany(self, timeout_ms: int, max_records: int):
        if self.rejoining:
            await asyncio.Event().wait()
        if not self.batches:
            await asyncio.sleep(0)
            return {}
        batch, steps = self.batches[0]
        if "during" not in steps and set(batch) & self.paused:  # fetched once they are resumed
            await asyncio.sleep(0)
            return {}
        self.batches.pop(0)
        if "during" in steps:
            await steps["during"]()
        if "beside" in steps:
            asyncio.get_running_loop().create_task(steps["beside"]())
        return batch

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.journal.append(("seek", tp.partition, offset))

    commits_allowed: int | None = None  # then the group throws this process out

    coordinator_away_for = 0  # this many commits wait for a coordinator, as aiokafka's do while the broker is away
    commit_gate: asyncio.Event | None = None  # then commits wait until it is set (a slow coordinator)

    async def commit(self, offsets):
        if self.commit_gate is not None:
            await self.commit_gate.wait()
        if self.coordinator_away_for:
            self.coordinator_away_for -= 1
            await asyncio.Event().wait()
        if self.commits_allowed is not None and sum(e[0] == "commit" for e in self.journal) >= self.commits_allowed:
            raise CommitFailedError("the group has already rebalanced")
        self.journal.append(("commit", {tp.partition: o for tp, o in offsets.items()}))
        self.committed_offsets.update(offsets)

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.committed_offsets.get(tp)


class FakeReader:
    """A changelog of (partition, key, value[, headers]) records, read back like a group-less consumer would."""

    def __init__(self, changelog: list[tuple], fail: bool = False, stuck: bool = False,
                 delay: float = 0.0) -> None:
        self.changelog, self.fail, self.stuck, self.delay, self.positions = changelog, fail, stuck, delay, {}
        self.reads = 0

    def assign(self, partitions):
        self.reads += 1
        self.positions = {tp: 0 for tp in partitions}

    async def seek_to_beginning(self, *partitions):
        for tp in partitions:
            self.positions[tp] = 0

    async def end_offsets(self, partitions):
        await asyncio.sleep(self.delay)
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
            out[tp] = [record(tp.partition, self.positions[tp] + i, k, v, topic="in-changelog", headers=h)
                       for i, (k, v, h) in enumerate(records)]
            self.positions[tp] += len(records)
        return out

    def pause(self, *partitions):
        self.positions = {}  # read-back is over: the next one assigns and seeks anew

    def _records(self, partition: int) -> list[tuple[bytes, bytes | None, tuple]]:
        return [(entry[1], entry[2], tuple(entry[3]) if len(entry) > 3 else ()) for entry in self.changelog
                if entry[0] == partition]


class FakeLog:
    """A consumer of partitions' records, as aiokafka's is for a history read: positions, pausing, seeking, the
    log's start (``starts``: what retention left) and end; ``away_for`` calls of ``end_offsets`` fail as they do
    while the broker is away. ``delete_before`` applies retention between two fetches."""

    def __init__(self, logs: dict[TopicPartition, list[ConsumerRecord]], committed: dict[TopicPartition, int],
                 away_for: int = 0) -> None:
        self.logs, self.committed_offsets, self.away_for = logs, committed, away_for
        self.starts = {tp: 0 for tp in logs}
        self.positions = {tp: 0 for tp in logs}
        self.paused: set[TopicPartition] = set()
        self.deletions: list[tuple[TopicPartition, int]] = []  # applied one per fetch

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.committed_offsets.get(tp)

    async def end_offsets(self, partitions):
        if self.away_for:
            self.away_for -= 1
            raise KafkaConnectionError("Unable to bootstrap from 127.0.0.1:9092")
        return {tp: len(self.logs[tp]) for tp in partitions}

    async def beginning_offsets(self, partitions):
        return {tp: self.starts[tp] for tp in partitions}

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.positions[tp] = self.starts[tp]

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    async def position(self, tp: TopicPartition) -> int:
        return max(self.positions[tp], self.starts[tp])  # a position before the start is reset to it

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused |= set(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused -= set(partitions)

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int, max_records: int):
        await asyncio.sleep(0)
        if self.deletions:
            tp, start = self.deletions.pop(0)
            self.starts[tp] = start
        batches = {}
        for tp in partitions or self.logs:
            if tp in self.paused:
                continue
            at = max(self.positions[tp], self.starts[tp])
            records = self.logs[tp][at:at + max_records]
            self.positions[tp] = at + len(records)
            if records:
                batches[tp] = records
        return batches
