"""The intake's memory of Idempotency-Keys: bounded in time and size; ids come from the key and the body."""

from __future__ import annotations

import pytest

from schemas.intake import QuestionAccepted, QuestionSubmission
from services.intake.domain import ids_for
from services.intake.exceptions import IdempotencyKeyReused
from services.intake.idempotency import IdempotencyMemory, fingerprint, retry_identity


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answer(n: int) -> QuestionAccepted:
    return QuestionAccepted(event_id=f"event-{n}", contact_id=f"contact-{n}")


async def test_a_key_is_forgotten_after_its_time_to_live():
    clock = Clock()
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=10, clock=clock)

    async def first():
        return answer(1)

    async def second():
        return answer(2)

    assert await memory.once("key-0001", "body", first) == (answer(1), False)
    clock.now += 59
    assert await memory.once("key-0001", "body", second) == (answer(1), True)
    clock.now += 2
    assert await memory.once("key-0001", "other body", second) == (answer(2), False)


async def test_the_oldest_keys_go_first_when_the_memory_is_full():
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=2, clock=Clock())
    for n in range(3):
        async def accept(n=n):
            return answer(n)
        await memory.once(f"key-000{n}", "body", accept)
    assert len(memory) == 2

    async def again():
        return answer(9)

    assert await memory.once("key-0000", "body", again) == (answer(9), False)


async def test_another_body_under_a_remembered_key_is_refused():
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=2, clock=Clock())

    async def accept():
        return answer(1)

    await memory.once("key-0001", "body", accept)
    with pytest.raises(IdempotencyKeyReused):
        await memory.once("key-0001", "other body", accept)


def test_the_fingerprint_is_of_the_body_as_read_not_as_spelled():
    a = QuestionSubmission.model_validate_json('{"channel": "web", "text": "kliko"}')
    b = QuestionSubmission.model_validate_json('{"text":"kliko","party":null,"channel":"web"}')
    c = QuestionSubmission.model_validate_json('{"channel": "web", "text": "kliko!"}')
    assert fingerprint(a) == fingerprint(b) != fingerprint(c)


def test_without_the_memory_one_key_with_two_bodies_still_gets_two_event_ids():
    a = QuestionSubmission(channel="web", text="kliko")
    b = QuestionSubmission(channel="web", text="paspoort")

    def ids(submission):
        return ids_for(retry_identity("key-0001", fingerprint(submission)), lambda: "fresh")

    assert ids(a) == ids(a)
    assert ids(a)[0] != ids(b)[0] and ids(a)[1] != ids(b)[1]
