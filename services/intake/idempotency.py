"""Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field"): a retry gets the first answer.

A bounded memory maps a key to the fingerprint of the body it came with and the answer it got. The same key
with another body is ``IdempotencyKeyReused`` (a 422); a retry while the first request is still publishing
waits for that one's answer.

The memory is durable: each answer is also written to a journal (the intake's compacted Kafka topic, see
``services.intake.kafka``), which a starting intake reads back, so a retry after a restart still gets the
first answer. Key and fingerprint are kept as HMACs under the pseudonym key only: a client's key may hold
anything, and a body of few possible values (a BSN and a subject) could be found again from its plain hash.
An answer the journal lost (the process died before the write was acknowledged) costs no second question
either: the event's ids are derived from the key *and* the fingerprint (``retry_identity``), so the retry
is the same event again, which every consumer takes as a redelivery.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import NamedTuple

import structlog
from pydantic import AwareDatetime, BaseModel, ValidationError

from schemas.envelope import Frozen
from schemas.intake import QuestionAccepted
from services.intake.exceptions import IdempotencyKeyReused, PublishFailed

log = structlog.get_logger(__name__)


def fingerprint(body: BaseModel) -> str:
    """SHA-256 of the body as the model reads it: member order, white space and explicit nulls do not count."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def retry_identity(key: str, body_fingerprint: str) -> str:
    """What a keyed question's event and contact ids are derived from: the key with the body it came with."""
    return f"{body_fingerprint}:{key}"


class RememberedKey(Frozen):
    """A journal record: the answer a key got (the key itself is the record's Kafka key, as its HMAC)."""

    body: str  # HMAC of the body's fingerprint
    event_id: str
    contact_id: str
    expires_at: AwareDatetime


#: Where each first answer is written: the key's HMAC and what it got. It must not wait for the broker.
Journal = Callable[[str, RememberedKey], None]


#: A key's first answer: the body's fingerprint (HMAC), when it expires (on ``clock``), event id and contact id.
#: A plain tuple of strings and a float, which the cyclic collector stops tracking (a subclass, such as a
#: NamedTuple, it keeps tracking): the memory holds tens of thousands of them, and a full collection walking
#: them all held up every request (93 ms with 50,000 keys kept as objects with a future each; bench/intake.py).
_Answered = tuple[str, float, str, str]
_EXPIRES = 1


class _InFlight(NamedTuple):
    """A key whose first request is still publishing: a retry waits for its answer."""

    fingerprint: str
    answer: asyncio.Future[QuestionAccepted]


class IdempotencyMemory:
    """Keys and their answers for ``ttl_seconds``, at most ``max_keys`` of them (the oldest go first); each
    first answer is written to ``journal`` once one is set (``restore`` reads it back)."""

    def __init__(self, ttl_seconds: float, max_keys: int, secret: bytes,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> None:
        self._ttl = ttl_seconds
        self._max_keys = max_keys
        self._secret = secret
        self._clock = clock
        self._wall = wall
        self._answered: OrderedDict[str, _Answered] = OrderedDict()  # the oldest expiry first
        self._in_flight: dict[str, _InFlight] = {}
        self.journal: Journal | None = None
        self._restored: asyncio.Event | None = None
        self._restore_wait = 0.0

    def expect_restore(self, wait_seconds: float) -> None:
        """Keys are to be read back from the journal: until they are, a key waits for them at most
        ``wait_seconds`` and is then refused with ``PublishFailed`` (a 503), never taken for a new one."""
        self._restored = asyncio.Event()
        self._restore_wait = wait_seconds

    @property
    def ttl_seconds(self) -> float:
        return self._ttl

    def _hmac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()

    def restore(self, records: Iterable[tuple[str, bytes]]) -> int:
        """Take in the journal's records (key HMAC, value) as read back: those not expired, the latest expiry
        last, so the oldest go first should there be more than ``max_keys``. A key already answered in this
        process keeps its answer. Returns how many keys were taken in."""
        now, wall, remembered, unreadable = self._clock(), self._wall(), [], 0
        for key, value in records:
            try:
                record = RememberedKey.model_validate_json(value)
            except ValidationError:
                unreadable += 1
                continue
            left = (record.expires_at - wall).total_seconds()
            if left > 0 and key not in self._answered and key not in self._in_flight:
                remembered.append((key, (record.body, now + min(left, self._ttl), record.event_id,
                                         record.contact_id)))
        if unreadable:
            log.warning("idempotency_journal_records_unreadable", records=unreadable)
        self._answered = OrderedDict(sorted([*self._answered.items(), *remembered], key=lambda item: item[1][_EXPIRES]))
        self._forget_beyond_max()
        if self._restored is not None:
            self._restored.set()
        return len(remembered)

    def __len__(self) -> int:
        return len(self._answered) + len(self._in_flight)

    async def once(self, key: str, body_fingerprint: str, accept: Callable[[], Awaitable[QuestionAccepted]],
                   field: str = "header.Idempotency-Key") -> tuple[QuestionAccepted, bool]:
        """The answer for this key and whether it is a replay: the remembered one, or ``accept()``'s. The key
        came in ``field`` (for the error when it comes back with another body)."""
        if self._restored is not None and not self._restored.is_set():
            try:
                await asyncio.wait_for(self._restored.wait(), self._restore_wait)
            except TimeoutError:
                raise PublishFailed("the intake is still reading back the keys it answered before") from None
        key, body_fingerprint = self._hmac(key), self._hmac(body_fingerprint)
        while True:
            self._forget_expired()
            if (answered := self._answered.get(key)) is not None:
                first_body, _, event_id, contact_id = answered
                if first_body != body_fingerprint:
                    raise IdempotencyKeyReused("this key was used with another body", field)
                return QuestionAccepted(event_id=event_id, contact_id=contact_id), True
            if (first := self._in_flight.get(key)) is None:
                break
            if first.fingerprint != body_fingerprint:
                raise IdempotencyKeyReused("this key was used with another body", field)
            await asyncio.wait([first.answer])
            if not first.answer.cancelled():
                return first.answer.result(), True
            # The first request with this key failed: this one tries in its place (or waits for the one that did).
        mine = self._in_flight[key] = _InFlight(body_fingerprint, asyncio.get_running_loop().create_future())
        try:
            answer = await accept()
        except BaseException:
            mine.answer.cancel()
            raise
        finally:
            del self._in_flight[key]
        mine.answer.set_result(answer)
        expires = self._clock() + self._ttl
        self._answered[key] = (body_fingerprint, expires, answer.event_id, answer.contact_id)
        self._forget_beyond_max()
        if self.journal is not None:
            self.journal(key, RememberedKey(body=body_fingerprint, event_id=answer.event_id,
                                            contact_id=answer.contact_id,
                                            expires_at=self._wall() + dt.timedelta(seconds=self._ttl)))
        return answer, False

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._answered and next(iter(self._answered.values()))[_EXPIRES] <= now:
            self._answered.popitem(last=False)

    def _forget_beyond_max(self) -> None:
        while len(self._answered) > self._max_keys:
            self._answered.popitem(last=False)
