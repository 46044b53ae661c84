"""Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field"): a retry gets the first answer.

A bounded memory in this process maps a key to the fingerprint of the body it came with and the answer it
got. The same key with another body is ``IdempotencyKeyReused`` (a 422); a retry while the first request is
still publishing waits for that one's answer. The event's ids are derived from the key *and* the
fingerprint (``retry_identity``), so when the memory is gone (a restart, a second instance) one event id
still never stands for two different questions.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel

from schemas.intake import QuestionAccepted
from services.intake.exceptions import IdempotencyKeyReused


def fingerprint(body: BaseModel) -> str:
    """SHA-256 of the body as the model reads it: member order, white space and explicit nulls do not count."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def retry_identity(key: str, body_fingerprint: str) -> str:
    """What a keyed question's event and contact ids are derived from: the key with the body it came with."""
    return f"{body_fingerprint}:{key}"


@dataclass
class _Entry:
    fingerprint: str
    answer: asyncio.Future[QuestionAccepted]
    expires: float


class IdempotencyMemory:
    """Keys and their answers for ``ttl_seconds``, at most ``max_keys`` of them (the oldest go first)."""

    def __init__(self, ttl_seconds: float, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._max_keys = max_keys
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def once(self, key: str, body_fingerprint: str, accept: Callable[[], Awaitable[QuestionAccepted]],
                   field: str = "header.Idempotency-Key") -> tuple[QuestionAccepted, bool]:
        """The answer for this key and whether it is a replay: the remembered one, or ``accept()``'s. The key
        came in ``field`` (for the error when it comes back with another body)."""
        while (entry := self._live(key)) is not None:
            if entry.fingerprint != body_fingerprint:
                raise IdempotencyKeyReused("this key was used with another body", field)
            await asyncio.wait([entry.answer])
            if not entry.answer.cancelled():
                return entry.answer.result(), True
            # The first request with this key failed: this one tries in its place.
        entry = _Entry(body_fingerprint, asyncio.get_running_loop().create_future(), self._clock() + self._ttl)
        self._entries[key] = entry
        while len(self._entries) > self._max_keys:
            self._entries.popitem(last=False)
        try:
            answer = await accept()
        except BaseException:
            if self._entries.get(key) is entry:
                del self._entries[key]
            entry.answer.cancel()
            raise
        entry.answer.set_result(answer)
        return answer, False

    def _live(self, key: str) -> _Entry | None:
        now = self._clock()
        while self._entries and next(iter(self._entries.values())).expires <= now:
            self._entries.popitem(last=False)
        return self._entries.get(key)
