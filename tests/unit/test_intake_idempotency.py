"""The intake's memory of Idempotency-Keys: bounded in time and size, journalled and read back; ids come from the
key and the body."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc

import pytest

from schemas.intake import QuestionAccepted, QuestionSubmission
from services.intake.domain import ids_for
from services.intake.exceptions import IdempotencyKeyReused, PublishFailed
from services.intake.idempotency import IdempotencyMemory, RememberedKey, fingerprint, retry_identity


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answer(n: int) -> QuestionAccepted:
    return QuestionAccepted(event_id=f"event-{n}", contact_id=f"contact-{n}")


async def test_a_key_is_forgotten_after_its_time_to_live():
    clock = Clock()
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=10, secret=b"test-key", clock=clock)

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
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=2, secret=b"test-key", clock=Clock())
    for n in range(3):
        async def accept(n=n):
            return answer(n)
        await memory.once(f"key-000{n}", "body", accept)
    assert len(memory) == 2

    async def again():
        return answer(9)

    assert await memory.once("key-0000", "body", again) == (answer(9), False)


async def test_another_body_under_a_remembered_key_is_refused():
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=2, secret=b"test-key", clock=Clock())

    async def accept():
        return answer(1)

    await memory.once("key-0001", "body", accept)
    with pytest.raises(IdempotencyKeyReused):
        await memory.once("key-0001", "other body", accept)


async def test_a_retry_while_the_first_is_publishing_gets_its_answer_and_publishes_nothing():
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=10, secret=b"test-key", clock=Clock())
    release, published = asyncio.Event(), []

    async def slow():
        published.append(1)
        await release.wait()
        return answer(1)

    async def again():
        published.append(2)
        return answer(2)

    first = asyncio.create_task(memory.once("key-0001", "body", slow))
    await asyncio.sleep(0)  # the first is now publishing
    retry = asyncio.create_task(memory.once("key-0001", "body", again))
    with pytest.raises(IdempotencyKeyReused):
        await memory.once("key-0001", "other body", again)
    release.set()
    assert (await first, await retry) == ((answer(1), False), (answer(1), True))
    assert published == [1]


async def test_when_the_first_request_fails_a_waiting_retry_publishes_in_its_place():
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=10, secret=b"test-key", clock=Clock())
    release = asyncio.Event()

    async def failing():
        await release.wait()
        raise PublishFailed("the broker is away")

    first = asyncio.create_task(memory.once("key-0001", "body", failing))
    await asyncio.sleep(0)
    retry = asyncio.create_task(memory.once("key-0001", "body", lambda: accepted(2)))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(PublishFailed):
        await first
    assert await retry == (answer(2), False)
    assert await memory.once("key-0001", "body", lambda: accepted(3)) == (answer(2), True)
    assert len(memory) == 1


async def test_remembered_answers_are_out_of_the_cyclic_collectors_sight():
    """A full collection walks every object it tracks: with 50,000 keys as objects it held up every request for
    about 100 ms (bench/intake.py). Answers kept as tuples of strings and a float are untracked once seen."""
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=1000, secret=b"test-key", clock=Clock())
    for n in range(1000):
        await memory.once(f"key-{n:04}", "body", lambda n=n: accepted(n))
    gc.collect()
    tracked = [entry for entry in memory._answered.values() if gc.is_tracked(entry)]
    assert not tracked, f"{len(tracked)} of 1000 answers still tracked"


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


class Journal:
    """What the memory writes; its records, as the topic would give them back (latest per key)."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}

    def __call__(self, key: str, remembered: RememberedKey) -> None:
        self.records[key] = remembered.model_dump_json().encode()


WALL = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.timezone.utc)


def journalled(wall: dt.datetime = WALL, **kwargs) -> tuple[IdempotencyMemory, Journal]:
    memory = IdempotencyMemory(ttl_seconds=60, max_keys=kwargs.pop("max_keys", 10), secret=b"test-key",
                               clock=Clock(), wall=lambda: wall)
    memory.journal = journal = Journal()
    return memory, journal


async def accepted(n: int):
    return answer(n)


async def test_each_first_answer_is_journalled_under_hmacs_never_the_key_or_the_body():
    memory, journal = journalled()
    await memory.once("webform-0001", "fingerprint-of-a-body", lambda: accepted(1))
    await memory.once("webform-0001", "fingerprint-of-a-body", lambda: accepted(2))  # a replay: not again
    [(key, value)] = journal.records.items()
    assert b"webform-0001" not in value and "webform-0001" not in key and b"fingerprint-of-a-body" not in value
    remembered = RememberedKey.model_validate_json(value)
    assert (remembered.event_id, remembered.expires_at) == ("event-1", WALL + dt.timedelta(seconds=60))


async def test_a_new_memory_given_the_journal_answers_as_the_first_and_refuses_another_body():
    first, journal = journalled()
    await first.once("webform-0001", "body", lambda: accepted(1))
    later, _ = journalled(WALL + dt.timedelta(seconds=30))
    assert later.restore(journal.records.items()) == 1
    assert await later.once("webform-0001", "body", lambda: accepted(2)) == (answer(1), True)
    with pytest.raises(IdempotencyKeyReused):
        await later.once("webform-0001", "other body", lambda: accepted(3))


async def test_expired_and_unreadable_journal_records_are_not_taken_in():
    first, journal = journalled()
    await first.once("webform-0001", "body", lambda: accepted(1))
    journal.records["not-json"] = b"{"
    later, _ = journalled(WALL + dt.timedelta(seconds=61))
    assert later.restore(journal.records.items()) == 0
    assert await later.once("webform-0001", "body", lambda: accepted(2)) == (answer(2), False)


async def test_read_back_keeps_the_latest_expiring_when_the_journal_holds_more_than_fit():
    first, journal = journalled()
    for n in range(5):
        first._wall = lambda n=n: WALL + dt.timedelta(seconds=n)
        await first.once(f"webform-000{n}", "body", lambda n=n: accepted(n))
    later, _ = journalled(max_keys=2)
    assert later.restore(journal.records.items()) == 5 and len(later) == 2
    assert await later.once("webform-0004", "body", lambda: accepted(9)) == (answer(4), True)
    assert await later.once("webform-0000", "body", lambda: accepted(9)) == (answer(9), False)


async def test_a_key_waits_for_the_read_back_and_is_refused_with_a_503_when_it_takes_too_long():
    memory, journal = journalled()
    memory.expect_restore(0.05)
    with pytest.raises(PublishFailed):
        await memory.once("webform-0001", "body", lambda: accepted(1))
    waiting = asyncio.create_task(memory.once("webform-0001", "body", lambda: accepted(2)))
    memory.restore([])
    assert await waiting == (answer(2), False)
