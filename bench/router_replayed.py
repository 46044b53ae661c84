"""``loket router`` with its domain's work done beforehand: what the plumbing alone costs.

    python bench/router_replayed.py COUNT

Run by bench/pipeline.py (``--plumbing``) as its own process, like the router, on the benchmark's topics. Before
the router starts, the real handler routes the first COUNT questions of the contacts topic in memory (from an
empty state); the router then runs as ``loket router`` does, but its handler hands out those records instead of
routing each question again. What is left is the router's plumbing: fetch, the processor's loop, the changelog
records tagged, every record sent (the same records, of the same sizes) and the offsets committed. Left out with
the domain: the questions' decoding and the party state's reads and writes. It runs in a consumer group and with
internal topics of its own, so that it reads every question whatever the real router committed.
"""

from __future__ import annotations

import asyncio
import sys

from aiokafka import ConsumerRecord

from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.kafka import Record, open_reader
from plumbing.organisation import load_organisation
from schemas.envelope import source_urn
from schemas.topics import CONTACTS
from services.router import app
from services.router import kafka as router_kafka
from services.router.domain import Classifier
from services.router.settings import RouterSettings

SERVICE = "router-replayed"


async def routed_beforehand(settings: RouterSettings, count: int) -> dict[tuple[int, int], list[Record]]:
    """The records the router's handler makes of the first ``count`` questions, by partition and offset."""
    organisation = load_organisation(settings.organisation_file)
    internal = router_kafka.InternalTopics.of(settings)
    state = PartitionedState(internal.party_state.name)
    state.install({partition: {} for partition in range(settings.topic_partitions)})
    records = router_kafka.RouterRecords(
        settings, state, internal.closures.name,
        classifier=Classifier(organisation), calendar=TermCalendar.of(organisation),
        source=source_urn(settings.oin, "loket-router"))
    done: dict[tuple[int, int], list[Record]] = {}
    reader = await open_reader(settings, CONTACTS)
    try:
        while len(done) < count:
            for batch in (await reader.getmany(timeout_ms=1000)).values():
                done.update(((r.partition, r.offset), records.question(r)) for r in batch)
    finally:
        await reader.stop()
    return done


def main(count: int) -> None:
    # Its own group and internal topics: both are named after the service (read where the router is wired).
    router_kafka.SERVICE = app.SERVICE = SERVICE  # type: ignore[misc]
    settings = RouterSettings()
    done = asyncio.run(routed_beforehand(settings, count))
    routing = router_kafka.RouterRecords.question

    def handed_out(self: router_kafka.RouterRecords, record: ConsumerRecord) -> list[Record]:
        made = done.get((record.partition, record.offset))
        return routing(self, record) if made is None else made

    router_kafka.RouterRecords.question = handed_out  # type: ignore[method-assign]
    app.main()


if __name__ == "__main__":
    main(int(sys.argv[1]))
