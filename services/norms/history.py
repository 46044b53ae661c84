"""Reading the norms' topics from their beginning into a ``Reading``: at the service's start (up to the offsets
it committed) and for ``loket norms rebuild`` (up to the ends the topics have now), the same way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from schemas.topics import TopicSpec
from services.norms.reading import Reading

log = structlog.get_logger(__name__)
#: Seconds between two progress lines.
PROGRESS_INTERVAL = 5.0


async def read_up_to(consumer: AIOKafkaConsumer, specs: Mapping[str, TopicSpec], reading: Reading,
                     marks: Mapping[TopicPartition, int], stopping: asyncio.Event, batch_size: int) -> tuple[int, int]:
    """Read every assigned partition from its beginning up to (not including) its offset in ``marks`` into
    ``reading``, and leave the consumer there, every partition resumed. Refused records are passed over (the
    service parked them when it first read them). How many records were read, and how many of them refused."""
    partitions = consumer.assignment()
    ends = await consumer.end_offsets(list(partitions))
    marks = {tp: min(marks.get(tp, 0), ends[tp]) for tp in partitions}
    await consumer.seek_to_beginning(*partitions)
    starts = await consumer.beginning_offsets(list(partitions))
    pending = {tp for tp in partitions if marks[tp] > starts[tp]}
    total = sum(marks[tp] - starts[tp] for tp in pending)
    consumer.pause(*(partitions - pending))
    read = refused = 0
    started = last = time.monotonic()
    log.info("history_reading", records=total, partitions=len(pending))
    while pending and not stopping.is_set():
        batches = await consumer.getmany(*pending, timeout_ms=500, max_records=batch_size)
        for tp, records in batches.items():
            taken, failed = _take_until(reading, specs[tp.topic], records, marks[tp])
            read, refused = read + taken, refused + failed
        for tp in list(pending):
            # At its mark, or past it without a record to show for it: what lay between was deleted meanwhile
            # (retention), and the consumer was reset to the partition's new start.
            if await consumer.position(tp) >= marks[tp]:
                consumer.seek(tp, marks[tp])  # fetched beyond it: those are for whoever reads on
                consumer.pause(tp)
                pending.discard(tp)
        if time.monotonic() - last >= PROGRESS_INTERVAL:
            last = time.monotonic()
            log.info("history_reading", read=read, records=total, percent=round(100 * read / max(total, 1)))
    consumer.resume(*partitions)
    log.info("history_read", read=read, refused=refused, seconds=round(time.monotonic() - started, 3))
    return read, refused


def _take_until(reading: Reading, spec: TopicSpec, records: list[ConsumerRecord], mark: int) -> tuple[int, int]:
    """Take the records before offset ``mark``: how many, and how many of them were refused."""
    taken = refused = 0
    for record in records:
        if record.offset >= mark:
            break
        taken += 1
        try:
            reading.take_record(spec, record)
        except Exception:  # noqa: BLE001 — refused or failed: parked when first read, as guarded() does
            refused += 1
    return taken, refused
