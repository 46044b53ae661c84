"""Retrying while a dependency is away: capped exponential backoff with jitter (tenacity), an outage told
once (``plumbing.outage``), and waits (and attempts) that a stopping service cuts short."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka.errors import KafkaTimeoutError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from plumbing.exceptions import Stopped
from plumbing.outage import Outage

T = TypeVar("T")
#: Longest wait between two attempts, in seconds.
BACKOFF_CAP = 30.0
#: First waits are around this many seconds, doubling (with jitter) up to the cap.
BACKOFF_BASE = 0.2
#: Seconds an attempt under way may still take once the service is asked to stop (a healthy batch finishes).
STOP_GRACE = 3.0


def broker_away(error: BaseException) -> bool:
    """Whether an error of a Kafka client means the broker (or a leader) is away for now, so that trying
    again later may work: aiokafka marks those ``retriable``; a send that timed out waiting for the broker
    is one too. A refused commit or a record too large is not."""
    return getattr(error, "retriable", False) or isinstance(error, KafkaTimeoutError)


def database_away(error: BaseException) -> bool:
    """Whether an error of asyncpg means PostgreSQL is away for now (refused or lost connections, a server
    starting or shutting down, no answer in time), so that trying again later may work. Refused data is not."""
    return isinstance(error, (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                              asyncpg.exceptions.OperatorInterventionError,
                              # A connection asyncpg lost track of (its issue #784, open): the pool replaces it.
                              asyncpg.InternalClientError))


async def until_it_works(attempt: Callable[[], Awaitable[T]], *, outage: Outage, stopping: asyncio.Event,
                         retry_on: Callable[[BaseException], bool], grace: float = STOP_GRACE) -> T:
    """``attempt()`` until it succeeds; while it raises what ``retry_on`` accepts, wait and try again.

    Raises at once any error ``retry_on`` does not accept. Once ``stopping`` is set, the wait for the next
    attempt ends at once and an attempt under way gets ``grace`` seconds more before it is cancelled; then
    ``Stopped`` is raised (from the last error, if there was one).
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
        return await _unless_stopped(attempt, stopping, grace, outage.dependency)

    try:
        result = await retrying(once)
    except Exception as exc:
        if stopping.is_set() and not isinstance(exc, Stopped) and retry_on(exc):
            raise Stopped(outage.dependency) from exc
        raise
    outage.succeeded()
    return result


async def _unless_stopped(attempt: Callable[[], Awaitable[T]], stopping: asyncio.Event, grace: float,
                          dependency: str) -> T:
    """``attempt()``, cancelled ``grace`` seconds after ``stopping`` is set if it has not finished by then."""
    task = asyncio.ensure_future(attempt())
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            await asyncio.wait({task}, timeout=grace)
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise Stopped(dependency)
        return task.result()
    finally:
        stop.cancel()
        if not task.done():  # we were cancelled ourselves
            task.cancel()


async def keep_doing(work: Callable[[], Awaitable[bool]], *, interval: float, stopping: asyncio.Event,
                     outage: Outage, retry_on: Callable[[BaseException], bool]) -> None:
    """``work()`` until ``stopping`` is set: at once again while it says there is more to do, else after
    ``interval`` seconds; tried again (``until_it_works``) while its dependency is away. Returns on a stop."""
    while not stopping.is_set():
        try:
            more = await until_it_works(work, outage=outage, stopping=stopping, retry_on=retry_on)
        except Stopped:
            return
        if not more:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=interval)
