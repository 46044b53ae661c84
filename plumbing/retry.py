"""Retrying while a dependency is away: capped exponential backoff with jitter (tenacity), an outage told
once (``plumbing.outage``), and a wait that a stopping service cuts short."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaTimeoutError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from plumbing.outage import Outage

T = TypeVar("T")
#: Longest wait between two attempts, in seconds.
BACKOFF_CAP = 30.0
#: First waits are around this many seconds, doubling (with jitter) up to the cap.
BACKOFF_BASE = 0.2


def broker_away(error: BaseException) -> bool:
    """Whether an error of a Kafka client means the broker (or a leader) is away for now, so that trying
    again later may work: aiokafka marks those ``retriable``; a send that timed out waiting for the broker
    is one too. A refused commit or a record too large is not."""
    return getattr(error, "retriable", False) or isinstance(error, KafkaTimeoutError)


async def until_it_works(attempt: Callable[[], Awaitable[T]], *, outage: Outage, stopping: asyncio.Event,
                         retry_on: Callable[[BaseException], bool]) -> T:
    """``attempt()`` until it succeeds; while it raises what ``retry_on`` accepts, wait and try again.

    Raises the last error when ``stopping`` is set meanwhile (the wait ends at once), and at once any
    error ``retry_on`` does not accept.
    """

    async def wait_or_stop(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), seconds)

    def tell(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        outage.failed(type(error).__name__)

    retrying = AsyncRetrying(
        retry=retry_if_exception(retry_on),
        wait=wait_random_exponential(multiplier=BACKOFF_BASE, max=BACKOFF_CAP),
        stop=lambda state: stopping.is_set(),
        sleep=wait_or_stop,
        before_sleep=tell,
        reraise=True,
    )
    async def once() -> T:  # a coroutine function, which tenacity awaits (a lambda's coroutine it would not)
        return await attempt()

    result = await retrying(once)
    outage.succeeded()
    return result
