"""The intake's Kafka adapter: a broker that does not answer is a quick PublishFailed, never a long wait."""

import asyncio
import time

import pytest
from aiokafka.errors import KafkaTimeoutError

from plumbing.settings import KafkaSettings
from schemas import QuestionAsked, QuestionData
from schemas.topics import CONTACTS
from services.intake.exceptions import PublishFailed
from services.intake.kafka import KafkaPublisher
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
