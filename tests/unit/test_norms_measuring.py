"""The norms service on the batch processor: each decision counted once, a bad record a dead letter, the batch
committed after its dead letters are sent."""

import asyncio

from aiokafka import ConsumerRecord, TopicPartition
from prometheus_client import REGISTRY

from plumbing.kafka import CLOUDEVENT_HEADERS
from plumbing.processor import BatchProcessor, Route
from schemas import DecisionData, DeadLetter, RoutingDecided
from plumbing.organisation import load_organisation
from schemas.topics import DECISIONS as DECISIONS_TOPIC
from services.norms.app import measured
from services.norms.reading import Reading
from tests.builders import NOW, SOURCE
from tests.fakes import FakeConsumer, FakeProducer, Journal, record
from tests.realstack import eventually

DECISIONS, DEAD_LETTERS = "decisions", "dead-letters"
TP = TopicPartition(DECISIONS, 0)
WEB_ANSWERED = {"outcome": "answered", "rule": "front-office-answer", "channel": "web"}


def decision(n: int) -> bytes:
    data = DecisionData(question_id=f"q-{n}", contact_id=f"c-{n}", channel="web", subject_code="paspoort-id",
                        outcome="answered", rule="front-office-answer", reason="r", decided_at=NOW)
    return RoutingDecided.create(source=SOURCE, data=data, id=f"d-{n}", time=NOW).to_bytes()


def delivered(offset: int, value: bytes) -> ConsumerRecord:
    return record(0, offset, value=value, topic=DECISIONS, headers=CLOUDEVENT_HEADERS)


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


async def measure(*batches: list) -> Journal:
    """The norms' route on a processor on stand-ins, run until it has committed every batch."""
    journal = Journal()
    consumer = FakeConsumer(journal, {TP})
    consumer.batches = [({TP: records}, {}) for records in batches]
    processor = BatchProcessor(consumer, FakeProducer(journal),
                               {DECISIONS: Route(measured(Reading(load_organisation()), DECISIONS_TOPIC))},
                               dead_letters=DEAD_LETTERS, source=SOURCE, name="norms", batch_size=100)
    stopping = asyncio.Event()
    running = asyncio.create_task(processor.run(stopping))
    await eventually(lambda: sum(entry[0] == "commit" for entry in journal) == len(batches), timeout=10,
                     interval=0.01)
    stopping.set()
    await running
    return journal


async def test_a_decision_delivered_again_is_counted_once():
    before = sample("loket_decisions_total", WEB_ANSWERED)
    first = [delivered(n, decision(n)) for n in range(3)]
    again = [delivered(3, decision(1))]  # the same event id, as after a redelivery

    journal = await measure(first, again)

    assert sample("loket_decisions_total", WEB_ANSWERED) - before == 3
    assert [entry for entry in journal if entry[0] == "send"] == []  # the norms publish nothing of their own
    assert journal[-1] == ("commit", {0: 4})


async def test_a_record_that_is_no_decision_is_a_dead_letter_and_the_batch_goes_on():
    before = sample("loket_decisions_total", WEB_ANSWERED), sample("loket_norms_records_refused_total")
    records = [delivered(0, b'{"specversion":"1.0"}'), delivered(1, decision(10))]

    journal = await measure(records)

    [(_, topic, key, value, _)] = [entry for entry in journal if entry[0] == "send"]
    assert topic == DEAD_LETTERS and key == f"{DECISIONS}:0:0".encode()
    assert DeadLetter.model_validate_json(value).data.consumer == "norms"
    assert sample("loket_norms_records_refused_total") - before[1] == 1
    assert sample("loket_decisions_total", WEB_ANSWERED) - before[0] == 1
    assert [entry[0] for entry in journal] == ["send", "commit"]  # the dead letter is sent before the commit
