"""``loket router`` with part of its work done beforehand: what the rest costs.

    python bench/router_replayed.py COUNT [records|rules]

Run by bench/pipeline.py (``--plumbing``, ``--without-rules``) as its own process, like the router, on the
benchmark's topics. Before the router starts, the real handler routes the first COUNT questions of the contacts
topic in memory (from an empty state). The router then runs as ``loket router`` does, but

- ``records``: its handler hands out the records it made of each question instead of routing the question again.
  What is left is the router's plumbing: fetch, the processor's loop, the changelog records tagged, every record
  sent (the same records, of the same sizes) and the offsets committed. Left out with the domain: the questions'
  decoding and the party state's reads and writes.
- ``rules``: only the one-desk rules (with the classification) hand out the routing they made of each question.
  The question is still decoded, the party's state read, the decision and case request encoded, and the new state
  stored, as in the router: the most any speed-up of the rules alone could give.

It runs in a consumer group and with internal topics of its own, so that it reads every question whatever the
real router committed.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from aiokafka import ConsumerRecord

from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.kafka import Record, open_reader
from plumbing.organisation import load_organisation
from schemas import QuestionAsked
from schemas.envelope import source_urn
from schemas.topics import CONTACTS
from services.router import app, domain
from services.router import kafka as router_kafka
from services.router.domain import Classifier, PartyState, Routing
from services.router.settings import RouterSettings

#: The consumer group's and internal topics' name, with what is replayed after it: a run of each mode reads every
#: question, whatever another committed.
SERVICE = "router-replayed"
#: The rules themselves.
ROUTE = domain.route
#: Routings made beforehand, by question id (the benchmark's ids are unique).
routings: dict[str, Routing] = {}


def remembered_route(question: QuestionAsked, state: PartyState | None = None, **kwargs: Any) -> Routing:
    """``domain.route`` that keeps what it made of each question."""
    routing = routings[question.id] = ROUTE(question, state, **kwargs)
    return routing


def replayed_route(question: QuestionAsked, state: PartyState | None = None, **kwargs: Any) -> Routing:
    """``domain.route`` that hands out what was made of a question beforehand (routes one it has not seen)."""
    made = routings.get(question.id)
    return ROUTE(question, state, **kwargs) if made is None else made


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


def main(count: int, replayed: str) -> None:
    if replayed not in ("records", "rules"):
        raise SystemExit(f"replay 'records' or 'rules', not {replayed!r}")
    # Its own group and internal topics: both are named after the service (read where the router is wired).
    router_kafka.SERVICE = app.SERVICE = f"{SERVICE}-{replayed}"  # type: ignore[misc]
    settings = RouterSettings()
    if replayed == "rules":
        domain.route = remembered_route  # type: ignore[assignment]
        asyncio.run(routed_beforehand(settings, count))
        domain.route = replayed_route  # type: ignore[assignment]
    else:
        done = asyncio.run(routed_beforehand(settings, count))
        routing = router_kafka.RouterRecords.question

        def handed_out(self: router_kafka.RouterRecords, record: ConsumerRecord) -> list[Record]:
            made = done.get((record.partition, record.offset))
            return routing(self, record) if made is None else made

        router_kafka.RouterRecords.question = handed_out  # type: ignore[method-assign]
    app.main()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "records")
