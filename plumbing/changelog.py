"""Keyed state per partition, kept in a private SQLite file (``PartitionedState``), made durable in a compacted
changelog topic.

Partition p of a consumer's input and partition p of its changelog hold the same keys, so the
consumer that owns input partition p owns that state. It reads the changelog partition from the
start before it handles any input of it; every change a record makes is a changelog record that
goes out with the consumer's output, before the input offsets are committed, and names the input
record it came from (the ``loket-input`` header: topic, partition, offset).

The state read back is the state *as of the committed offsets*: a changelog record whose input lies
at or beyond its partition's committed offset is the effect of a batch that was sent but not
committed (the process died, or was thrown out of the group, in between). It is left out, because
that input will be delivered again and handled against the state as it was before it, so the
redelivery yields the very same records, whatever the handlers remember or forget. The changelog
topic keeps superseded values for ``plumbing.kafka.MIN_COMPACTION_LAG_MS``, so that the value before
an uncommitted change is still there to read back. Sweeps that forget old keys write changelog
records (tombstones) without an input; they are written only after the offsets before them are
committed.
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from plumbing.exceptions import StateFailed, StateUnavailable
from plumbing.kafka import Record

log = structlog.get_logger(__name__)
#: Seconds between progress lines while a long changelog is read back.
PROGRESS_INTERVAL = 5.0
#: Seconds without a single record read before the read-back gives up (the broker is not serving it).
STALL_LIMIT = 60.0
#: Header of a changelog record naming the input record whose handling made it: ``topic:partition:offset``.
INPUT_HEADER = "loket-input"
#: Committed offset per input (topic, partition): where the state read back must stop.
Committed = Mapping[tuple[str, int], int]
#: Last value per (partition, key) of a stretch of a changelog read back; ``None`` where the key was forgotten.
Changes = dict[tuple[int, bytes], bytes | None]
#: Page size of a state's database (see ``PartitionedState.__init__``).
PAGE_BYTES = 16_384
#: MiB of a state's database pages kept in memory.
CACHE_MIB = 32
#: Rows written between two commits of the state's database.
COMMIT_EVERY = 20_000
#: Values put that are kept in memory (and read from there) before they are written to the database together.
WRITE_BEHIND = 2_000
_UNKNOWN = object()
_Method = TypeVar("_Method", bound=Callable[..., Any])


def _stored(method: _Method) -> _Method:
    """A method of the state's database, whose failure (a full disk, say) is ``StateFailed``."""

    @functools.wraps(method)
    def wrapper(self: PartitionedState, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            log.error("state_store_failed", changelog=self.changelog, error=type(exc).__name__)
            raise StateFailed(f"the state of {self.changelog} failed: {type(exc).__name__}: {exc}") from exc

    return wrapper  # type: ignore[return-value]


def from_input(record: Record, source: ConsumerRecord) -> Record:
    """A changelog record, tagged with the input record whose handling made it."""
    position = f"{source.topic}:{source.partition}:{source.offset}".encode()
    return Record(record.topic, record.key, record.value, record.partition, (*record.headers, (INPUT_HEADER, position)))


def _uncommitted(record: ConsumerRecord, committed: Committed) -> bool:
    """Whether a changelog record is the effect of an input at or beyond its committed offset."""
    position = next((value for name, value in record.headers or () if name == INPUT_HEADER), None)
    if position is None:
        return False  # a sweep's record, or one written before inputs were named: always part of the state
    topic, partition, offset = position.decode().rsplit(":", 2)
    limit = committed.get((topic, int(partition)))
    return limit is not None and int(offset) >= limit


class PartitionedState:
    """Bytes by key, per partition; only the partitions restored (and not dropped since) are owned.

    The keys live in a private SQLite database on disk (a temporary file of its own, gone when the process
    ends), not on the Python heap: a million parties' states take some 400 MB as Python objects, and SQLite
    keeps only ``cache_mib`` of its pages in memory. Nothing in it needs to survive the process (the changelog
    is the durable copy), so it is written without a journal and without syncing. Should the database fail (its
    disk full, say) it raises ``StateFailed``, which stops the process rather than park the record it was handling:
    without a journal a failed write may leave the file unusable, and the changelog has the state. Each
    partition's keys sit under a slot number of their own: a partition being read back fills a fresh slot while
    the old one is still in use, and forgetting a partition deletes its slot.
    """

    def __init__(self, changelog: str, *, cache_mib: int = CACHE_MIB) -> None:
        self.changelog = changelog
        self._db = sqlite3.connect("", isolation_level=None)  # "": a private temporary database, on disk
        # Pages of 16 KiB: a party's state runs to 3-4 KB, and SQLite moves a row of more than about a quarter of
        # a page of a keyed table to overflow pages, which made a read twice as slow and a write three times.
        for pragma in (f"page_size = {PAGE_BYTES}", "journal_mode = OFF", "synchronous = OFF",
                       f"cache_size = -{cache_mib * 1024}"):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE kv (slot INTEGER, key BLOB, value BLOB NOT NULL, PRIMARY KEY (slot, key))"
                         " WITHOUT ROWID")
        self._db.execute("BEGIN")
        self._writes = 0
        self._recent: dict[tuple[int, bytes], bytes | None] = {}  # put lately, not yet written: (slot, key) -> value
        self._slots = itertools.count()
        self._partitions: dict[int, int] = {}  # owned partition -> its slot
        self._held: dict[int, int] = {}  # revoked, kept in case they come back unchanged
        self._sweeping: tuple[int, bytes | None] | None = None  # the partition being swept, the last key done

    def owns(self, partition: int) -> bool:
        return partition in self._partitions

    def owned(self) -> set[int]:
        return set(self._partitions)

    @_stored
    def get(self, partition: int, key: bytes) -> bytes | None:
        slot = self._partitions[partition]
        value = self._recent.get((slot, key), _UNKNOWN)
        if value is not _UNKNOWN:
            return value
        row = self._db.execute("SELECT value FROM kv WHERE slot = ? AND key = ?", (slot, key)).fetchone()
        return None if row is None else row[0]

    def put(self, partition: int, key: bytes, value: bytes | None) -> Record:
        """Change one key (``None`` forgets it); returns the changelog record to publish with the output."""
        self._recent[(self._partitions[partition], key)] = value
        if len(self._recent) >= WRITE_BEHIND:
            self._flush()
        return Record(self.changelog, key, value, partition)

    def size(self) -> tuple[int, int]:
        """Keys and bytes of value in the owned partitions."""
        return self._size(self._partitions.values())

    def sweep(self, limit: int, expire: Callable[[int, bytes], bytes | None], partitions: set[int]) -> list[Record]:
        """Pass the next ``limit`` keys' values of these partitions through ``expire`` (round them, one
        at a time) and keep what it returns: the same object when unchanged, ``None`` to forget the
        key. Returns the changelog records of the changes."""
        records = []
        for partition, key, value in self._next_rows(limit, partitions & self.owned()):
            kept = expire(partition, value)
            if kept is not value:
                records.append(self.put(partition, key, kept))
        return records

    @_stored
    def _next_rows(self, limit: int, partitions: set[int]) -> list[tuple[int, bytes, bytes]]:
        self._flush()
        rows: list[tuple[int, bytes, bytes]] = []
        visited: set[int] = set()
        while len(rows) < limit:
            if self._sweeping is None or self._sweeping[0] not in partitions:
                if not partitions:
                    break
                self._sweeping = (_after(None if self._sweeping is None else self._sweeping[0], partitions), None)
            partition, done = self._sweeping
            if partition in visited:
                break  # each partition at most once per call
            visited.add(partition)
            wanted = limit - len(rows)
            after = "key > ?" if done is not None else "key >= ?"  # from the start: every key, b"" too
            found = self._db.execute(f"SELECT key, value FROM kv WHERE slot = ? AND {after} ORDER BY key LIMIT ?",
                                     (self._partitions[partition], done or b"", wanted)).fetchall()
            rows.extend((partition, key, value) for key, value in found)
            more = len(found) == wanted
            self._sweeping = (partition, found[-1][0]) if more else (_after(partition, partitions), None)
        return rows

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions this consumer no longer owns (or holds): their new owner reads them back."""
        for partition in partitions:
            for slot in (self._partitions.pop(partition, None), self._held.pop(partition, None)):
                self._forget(slot)
            if self._sweeping is not None and self._sweeping[0] == partition:
                self._sweeping = None

    def hold(self, partitions: Iterable[int]) -> None:
        """Stop owning partitions but keep their keys aside: if the next assignment gives them back and nobody
        changed them meanwhile, ``take_back`` owns them again without reading them back."""
        for partition in partitions:
            if partition in self._partitions:
                self._forget(self._held.pop(partition, None))
                self._held[partition] = self._partitions.pop(partition)
                if self._sweeping is not None and self._sweeping[0] == partition:
                    self._sweeping = None

    def held(self) -> set[int]:
        return set(self._held)

    def take_back(self, partitions: Iterable[int]) -> None:
        """Own these held partitions again, with their keys as they were held."""
        for partition in partitions:
            self._forget(self._partitions.pop(partition, None))
            self._partitions[partition] = self._held.pop(partition)

    def loading(self, partitions: Iterable[int]) -> Loading:
        """A place to read these partitions' keys back into, apart from what is in use, until ``install``."""
        return Loading(self, {partition: next(self._slots) for partition in partitions})

    def install(self, data: Loading | Mapping[int, Mapping[bytes, bytes]]) -> None:
        """Own these partitions, with their keys as read back from the changelog (replacing any kept so far)."""
        if not isinstance(data, Loading):
            loading = self.loading(data)
            loading.apply({(partition, key): value for partition, keys in data.items() for key, value in keys.items()})
            data = loading
        for partition, slot in data.slots.items():
            self.drop([partition])
            self._partitions[partition] = slot
        data.slots = {}

    @_stored
    def _write(self, changes: Mapping[tuple[int, bytes], bytes | None]) -> None:
        """Values by (slot, key) into the database, ``None`` deleting the key."""
        before = self._db.total_changes
        self._db.executemany("DELETE FROM kv WHERE slot = ? AND key = ?",
                             [sk for sk, v in changes.items() if v is None])
        self._db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)",
                             [(*sk, v) for sk, v in changes.items() if v is not None])
        self._wrote(self._db.total_changes - before)

    def _flush(self) -> None:
        """The values put lately into the database."""
        if self._recent:
            self._write(self._recent)  # kept until written: should the write fail, the process stops anyway
            self._recent = {}

    @_stored
    def _size(self, slots: Iterable[int]) -> tuple[int, int]:
        """Keys and bytes of value under these slots."""
        self._flush()
        keys = bytes_ = 0
        for slot in slots:
            count, total = self._db.execute("SELECT count(*), total(length(value)) FROM kv WHERE slot = ?",
                                            (slot,)).fetchone()
            keys, bytes_ = keys + count, bytes_ + int(total)
        return keys, bytes_

    @_stored
    def _forget(self, slot: int | None) -> None:
        if slot is not None:
            self._flush()
            self._wrote(self._db.execute("DELETE FROM kv WHERE slot = ?", (slot,)).rowcount)

    def _wrote(self, rows: int) -> None:
        """Commit now and then: an open transaction keeps its changed pages in memory until it ends."""
        self._writes += rows
        if self._writes >= COMMIT_EVERY:
            self._db.execute("COMMIT")
            self._db.execute("BEGIN")
            self._writes = 0


class Loading:
    """Partitions' keys being read back, in slots of their own until the state installs them (``discard`` forgets
    them instead)."""

    def __init__(self, state: PartitionedState, slots: dict[int, int]) -> None:
        self._state = state
        self.slots = slots  # partition -> its slot

    def apply(self, changes: Mapping[tuple[int, bytes], bytes | None]) -> None:
        """The last value of each (partition, key) in a stretch of the changelog, ``None`` where it was forgotten."""
        slots = self.slots
        self._state._write({(slots[partition], key): value for (partition, key), value in changes.items()})

    def keys(self) -> int:
        return self._state._size(self.slots.values())[0]

    def discard(self) -> None:
        for slot in self.slots.values():
            self._state._forget(slot)
        self.slots = {}


def _after(partition: int | None, partitions: set[int]) -> int:
    """The next of these partitions after ``partition`` (round again from the first), or the first."""
    later = [p for p in partitions if partition is None or p > partition]
    return min(later or partitions)


async def read_changelog(reader: AIOKafkaConsumer, partitions: list[TopicPartition], committed: Committed,
                         stall_limit: float = STALL_LIMIT) -> dict[int, dict[bytes, bytes]]:
    """The latest value of every key in these partitions, read up to their end as it was at the call, as of
    the ``committed`` input offsets (see ``read_changelog_into``), in memory."""
    data: dict[int, dict[bytes, bytes]] = {tp.partition: {} for tp in partitions}

    def keep(changes: Changes) -> None:
        for (partition, key), value in changes.items():
            if value is None:
                data[partition].pop(key, None)
            else:
                data[partition][key] = value

    await read_changelog_into(reader, partitions, committed, keep, stall_limit)
    return data


async def read_changelog_into(reader: AIOKafkaConsumer, partitions: list[TopicPartition], committed: Committed,
                              keep: Callable[[Changes], None], stall_limit: float = STALL_LIMIT) -> None:
    """Read these partitions up to their end as it was at the call and hand ``keep`` what they say, a stretch at
    a time, as of the ``committed`` input offsets: the effects of inputs at or beyond them are left out. An input
    not in ``committed`` limits nothing.

    Raises ``StateUnavailable`` when nothing could be read for ``stall_limit`` seconds.
    """
    reader.assign(partitions)
    try:
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        pending = {tp for tp in partitions if await reader.position(tp) < ends[tp]}
        records, skipped, last_report, last_read = 0, 0, time.monotonic(), time.monotonic()
        while pending:
            batches = await reader.getmany(*pending, timeout_ms=1000, max_records=10_000)
            changes: Changes = {}
            for tp, batch in batches.items():
                for record in batch:
                    if record.offset >= ends[tp]:
                        break
                    if _uncommitted(record, committed):
                        skipped += 1
                    else:  # a value, or a tombstone (None): the key was forgotten
                        changes[(tp.partition, record.key)] = record.value
                    records += 1
            if changes:
                keep(changes)
            now = time.monotonic()
            last_read = now if batches else last_read
            if now - last_read > stall_limit:
                raise StateUnavailable(f"nothing read from {partitions[0].topic} for {stall_limit:.0f}s")
            pending = {tp for tp in pending if await reader.position(tp) < ends[tp]}
            if now - last_report > PROGRESS_INTERVAL:
                last_report = now
                log.info("state_restoring", partitions=len(partitions), waiting=len(pending), records=records)
        if skipped:
            log.info("state_uncommitted_changes_left_out", changelog=partitions[0].topic, records=skipped)
    finally:
        # Paused, not unsubscribed: after an unsubscribe aiokafka's fetcher waits for a new assignment in a way
        # a cancel does not end, so the reader's stop would hang (seen with aiokafka 0.14). The next read-back
        # assigns its own partitions anew.
        reader.pause(*partitions)
