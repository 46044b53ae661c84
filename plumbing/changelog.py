"""Keyed state in memory per partition, made durable in a compacted changelog topic.

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

import time
from collections.abc import Callable, Iterable, Mapping

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from plumbing.exceptions import StateUnavailable
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


def from_input(record: Record, source: ConsumerRecord) -> Record:
    """A changelog record, tagged with the input record whose handling made it."""
    position = f"{source.topic}:{source.partition}:{source.offset}".encode()
    return record._replace(headers=(*record.headers, (INPUT_HEADER, position)))


def _uncommitted(record: ConsumerRecord, committed: Committed) -> bool:
    """Whether a changelog record is the effect of an input at or beyond its committed offset."""
    position = next((value for name, value in record.headers or () if name == INPUT_HEADER), None)
    if position is None:
        return False  # a sweep's record, or one written before inputs were named: always part of the state
    topic, partition, offset = position.decode().rsplit(":", 2)
    limit = committed.get((topic, int(partition)))
    return limit is not None and int(offset) >= limit


class PartitionedState:
    """Bytes by key, per partition; only the partitions restored (and not dropped since) are owned."""

    def __init__(self, changelog: str) -> None:
        self.changelog = changelog
        self._partitions: dict[int, dict[bytes, bytes]] = {}
        self._held: dict[int, dict[bytes, bytes]] = {}  # revoked, kept in case they come back unchanged
        self._sweeping: tuple[int, list[bytes]] | None = None  # the partition being swept, its keys to go

    def owns(self, partition: int) -> bool:
        return partition in self._partitions

    def owned(self) -> set[int]:
        return set(self._partitions)

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self._partitions[partition].get(key)

    def put(self, partition: int, key: bytes, value: bytes | None) -> Record:
        """Change one key (``None`` forgets it); returns the changelog record to publish with the output."""
        if value is None:
            self._partitions[partition].pop(key, None)
        else:
            self._partitions[partition][key] = value
        return Record(self.changelog, key, value, partition)

    def sweep(self, limit: int, expire: Callable[[int, bytes], bytes | None], partitions: set[int]) -> list[Record]:
        """Pass the next ``limit`` keys' values of these partitions through ``expire`` (round them, one
        at a time) and keep what it returns: the same object when unchanged, ``None`` to forget the
        key. Returns the changelog records of the changes."""
        records = []
        for partition, key in self._next_keys(limit, partitions & self.owned()):
            value = self._partitions.get(partition, {}).get(key)
            if value is None:
                continue  # forgotten, or its partition dropped, since the round began
            kept = expire(partition, value)
            if kept is not value:
                records.append(self.put(partition, key, kept))
        return records

    def _next_keys(self, limit: int, partitions: set[int]) -> list[tuple[int, bytes]]:
        keys: list[tuple[int, bytes]] = []
        for _ in range(len(partitions) + 1):  # each partition at most once per call
            if self._sweeping is None or not self._sweeping[1] or self._sweeping[0] not in partitions:
                owned = sorted(partitions)
                if not owned:
                    break
                after = [p for p in owned if self._sweeping is None or p > self._sweeping[0]]
                partition = (after or owned)[0]
                self._sweeping = (partition, list(self._partitions[partition]))
            partition, pending = self._sweeping
            while pending and len(keys) < limit:
                keys.append((partition, pending.pop()))
            if len(keys) >= limit:
                break
        return keys

    def drop(self, partitions: Iterable[int]) -> None:
        """Forget partitions this consumer no longer owns (or holds): their new owner reads them back."""
        for partition in partitions:
            self._partitions.pop(partition, None)
            self._held.pop(partition, None)
            if self._sweeping is not None and self._sweeping[0] == partition:
                self._sweeping = None

    def hold(self, partitions: Iterable[int]) -> None:
        """Stop owning partitions but keep their keys aside: if the next assignment gives them back and nobody
        changed them meanwhile, ``install`` takes them in again instead of reading them back."""
        for partition in partitions:
            if partition in self._partitions:
                self._held[partition] = self._partitions.pop(partition)
                if self._sweeping is not None and self._sweeping[0] == partition:
                    self._sweeping = None

    def held(self) -> set[int]:
        return set(self._held)

    def take_held(self, partitions: Iterable[int]) -> dict[int, dict[bytes, bytes]]:
        """The held keys of these partitions, no longer held (to ``install``)."""
        return {p: self._held.pop(p) for p in partitions if p in self._held}

    def install(self, data: dict[int, dict[bytes, bytes]]) -> None:
        """Own these partitions, with their keys as read back from the changelog."""
        self._partitions.update(data)


async def read_changelog(reader: AIOKafkaConsumer, partitions: list[TopicPartition], committed: Committed,
                         stall_limit: float = STALL_LIMIT) -> dict[int, dict[bytes, bytes]]:
    """The latest value of every key in these partitions, read up to their end as it was at the call, as of
    the ``committed`` input offsets: the effects of inputs at or beyond them are left out. An input not in
    ``committed`` limits nothing.

    Raises ``StateUnavailable`` when nothing could be read for ``stall_limit`` seconds.
    """
    reader.assign(partitions)
    try:
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        data: dict[int, dict[bytes, bytes]] = {tp.partition: {} for tp in partitions}
        pending = {tp for tp in partitions if await reader.position(tp) < ends[tp]}
        records, skipped, last_report, last_read = 0, 0, time.monotonic(), time.monotonic()
        while pending:
            batches = await reader.getmany(*pending, timeout_ms=1000, max_records=10_000)
            for tp, batch in batches.items():
                for record in batch:
                    if record.offset >= ends[tp]:
                        break
                    if _uncommitted(record, committed):
                        skipped += 1
                    elif record.value is None:  # a tombstone: the key was forgotten
                        data[tp.partition].pop(record.key, None)
                    else:
                        data[tp.partition][record.key] = record.value
                    records += 1
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
        return data
    finally:
        # Paused, not unsubscribed: after an unsubscribe aiokafka's fetcher waits for a new assignment in a way
        # a cancel does not end, so the reader's stop would hang (seen with aiokafka 0.14). The next read-back
        # assigns its own partitions anew.
        reader.pause(*partitions)
