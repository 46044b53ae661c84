"""Retrying while a dependency is away: until it works, or until the service is asked to stop."""

import asyncio
import time

import pytest
from structlog.testing import capture_logs

from plumbing.exceptions import Stopped
from plumbing.outage import Outage
from plumbing.retry import until_it_works


class Flaky:
    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("away")
        return "done"


async def test_an_attempt_is_retried_until_it_works_and_the_outage_told_once_at_each_end():
    flaky = Flaky(failures=4)
    with capture_logs() as told:
        result = await until_it_works(flaky, outage=Outage("broker"), stopping=asyncio.Event(),
                                      retry_on=lambda e: isinstance(e, ConnectionError))
    assert result == "done" and flaky.calls == 5
    assert [line["event"] for line in told] == ["dependency_unavailable", "dependency_available_again"]


async def test_an_error_not_retried_is_raised_at_once():
    flaky = Flaky(failures=1, error=ValueError)
    with pytest.raises(ValueError):
        await until_it_works(flaky, outage=Outage("broker"), stopping=asyncio.Event(),
                             retry_on=lambda e: isinstance(e, ConnectionError))
    assert flaky.calls == 1


async def test_a_stopping_service_is_not_kept_waiting_for_the_next_attempt():
    stopping = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stopping.set)
    started = time.monotonic()
    with pytest.raises(Stopped) as stopped:
        await until_it_works(Flaky(failures=10**6), outage=Outage("broker"), stopping=stopping,
                             retry_on=lambda e: isinstance(e, ConnectionError))
    assert time.monotonic() - started < 5
    assert isinstance(stopped.value.__cause__, ConnectionError) and stopped.value.dependency == "broker"


async def test_an_attempt_that_hangs_is_cancelled_a_grace_period_after_the_stop():
    stopping, cancelled = asyncio.Event(), asyncio.Event()

    async def hangs() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    asyncio.get_running_loop().call_later(0.1, stopping.set)
    with pytest.raises(Stopped):
        await until_it_works(hangs, outage=Outage("database"), stopping=stopping,
                             retry_on=lambda e: isinstance(e, ConnectionError), grace=0.2)
    assert cancelled.is_set()


async def test_an_attempt_under_way_may_finish_within_the_grace_period():
    stopping = asyncio.Event()

    async def slow() -> str:
        stopping.set()
        await asyncio.sleep(0.05)  # the attempt's own work, not a synchronisation
        return "finished"

    assert await until_it_works(slow, outage=Outage("broker"), stopping=stopping,
                                retry_on=lambda e: True, grace=5) == "finished"
