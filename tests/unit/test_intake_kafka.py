"""The intake's Kafka adapter: a broker that does not answer is a quick PublishFailed, never a long wait."""

import asyncio
import datetime as dt
import json
import time

import pytest
from aiokafka.errors import KafkaTimeoutError

from plumbing.settings import KafkaSettings
from schemas import QuestionAsked, QuestionData
from schemas.topics import CONTACTS
from services.intake.exceptions import PublishFailed
from services.intake.idempotency import IdempotencyMemory, RememberedKey
from services.intake.kafka import KafkaPublisher
from tests.fakes import FakeProducer
from tests.builders import NOW, SOURCE

QUESTION = QuestionAsked.create(source=SOURCE, time=NOW, data=QuestionData(
    contact_id="c-1", channel="web", text="Mijn kliko is kapot", received_at=NOW))


class SilentBroker:
    """A producer whose broker never acknowledges (or refuses with ``error``)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list = []

    async def send_and_wait(self, topic, value, key=None, headers=None):
        self.sent.append((topic, key, dict(headers)))
        if self.error is not None:
            raise self.error
        await asyncio.Event().wait()


async def test_an_unacknowledged_question_fails_within_the_publish_timeout():
    publisher = KafkaPublisher(SilentBroker(), KafkaSettings(), timeout=0.05)
    started = time.monotonic()
    with pytest.raises(PublishFailed, match="did not acknowledge the event within 0.05s"):
        await publisher.publish(CONTACTS, "c-1", QUESTION)
    assert time.monotonic() - started < 2


async def test_a_refusal_by_kafka_is_a_publish_failure_naming_only_the_error_type():
    broker = SilentBroker(KafkaTimeoutError("metadata for 'loket.contacts.v1' not available"))
    with pytest.raises(PublishFailed, match="^Kafka refused the event: KafkaTimeoutError$"):
        await KafkaPublisher(broker, KafkaSettings(topic_prefix="p."), timeout=5).publish(CONTACTS, "c-1", QUESTION)
    assert broker.sent == [("p.loket.contacts.v1", b"c-1",
                            {"content-type": b"application/cloudevents+json; charset=UTF-8"})]


class StumblingProducer(FakeProducer):
    """Its first batch waits for ``release`` and then fails, with an error that is not Kafka's or, with
    ``never_acknowledged``, is taken and never acknowledged (a broker gone slow). Records handed over one by one
    (``send``) are journalled as such."""

    def __init__(self, never_acknowledged: bool = False) -> None:
        super().__init__(journal=[])
        self.release = asyncio.Event()
        self.stumbled = False
        self.never_acknowledged = never_acknowledged

    async def send_batch(self, batch, topic, *, partition):
        if not self.stumbled:
            self.stumbled = True
            if self.never_acknowledged:
                return asyncio.get_running_loop().create_future()
            await self.release.wait()
            raise RuntimeError("a fault of ours")
        return await super().send_batch(batch, topic, partition=partition)

    async def send(self, topic, value, key=None):
        self.journal.append(("handed over", topic, key, value, None))

    async def stop(self) -> None: ...


def remembered(n: int) -> RememberedKey:
    return RememberedKey(body=f"body-{n}", event_id=f"event-{n}", contact_id=f"contact-{n}",
                         expires_at=dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc))


async def first_batch_under_way(publisher: KafkaPublisher, producer: StumblingProducer) -> None:
    publisher.write_key("key-1", remembered(1))
    while not producer.stumbled:
        await asyncio.sleep(0)
    publisher.write_key("key-2", remembered(2))
    publisher.write_key("key-3", remembered(3))


def journalled(producer: StumblingProducer) -> list[tuple[str, bytes, str]]:
    return [(how, key, json.loads(value)["event_id"]) for how, _, key, value, _ in producer.journal]


async def test_the_journal_writer_goes_on_after_a_batch_failed_with_the_answers_that_came_meanwhile():
    producer = StumblingProducer()
    publisher = KafkaPublisher(producer, KafkaSettings(), timeout=5, keys=IdempotencyMemory(60, 10, b"secret"))
    await first_batch_under_way(publisher, producer)
    producer.release.set()
    for _ in range(1000):  # no further answer comes to wake a writer: the one under way goes on by itself
        if len(producer.journal) == 2:
            break
        await asyncio.sleep(0)
    assert journalled(producer) == [("send", b"key-2", "event-2"), ("send", b"key-3", "event-3")]
    await publisher.close(5)


async def test_at_close_a_journal_the_broker_does_not_acknowledge_is_handed_to_the_producers_flush():
    producer = StumblingProducer(never_acknowledged=True)
    publisher = KafkaPublisher(producer, KafkaSettings(), timeout=5, keys=IdempotencyMemory(60, 10, b"secret"))
    await first_batch_under_way(publisher, producer)
    started = time.monotonic()
    await publisher.close(0.2)
    assert time.monotonic() - started < 1
    assert journalled(producer) == [("handed over", b"key-2", "event-2"), ("handed over", b"key-3", "event-3")]
