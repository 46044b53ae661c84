"""Running a service until SIGINT or SIGTERM asks it to stop, and seeing that it does so within its stop
timeout (``LOKET_STOP_TIMEOUT_SECONDS``) whatever state it is in: what it had not committed is delivered
again, so a stop cut short loses nothing."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from plumbing.exceptions import Stopped
from plumbing.settings import LoketSettings

log = structlog.get_logger(__name__)
SettingsT = TypeVar("SettingsT", bound=LoketSettings)
#: Exit code of a process ended hard because its stop did not finish in time (or a second signal came), as
#: coreutils' ``timeout`` has it. A stop that finished in time exits 0.
FORCED_EXIT = 124
#: Share of the stop timeout left for ``serve`` to unwind after it is cancelled.
CANCEL_SHARE = 0.2
#: Allocations between two collections of the youngest generation (CPython's default: 700).
GC_YOUNGEST_THRESHOLD = 100_000


def tune_garbage_collection() -> None:
    """Fewer cyclic collections for a service: a batch (or a burst of requests) allocates thousands of short-lived
    models, which reference counting frees; with the default threshold the collector runs every 700 allocations
    and walks them again and again (bench/cases.py: some 15% more cases/s). What start-up made is frozen out of
    the collector's sight, as it lives as long as the process: a full collection walking it took 44-53 ms in the
    intake, holding up every request meanwhile (bench/intake.py). Call it once start-up has made its objects."""
    gc.freeze()
    gc.set_threshold(GC_YOUNGEST_THRESHOLD, *gc.get_threshold()[1:])


def run_until_signalled(serve: Callable[[SettingsT, asyncio.Event], Awaitable[None]], settings: SettingsT) -> None:
    """``serve(settings, stopping)`` on a new event loop; a signal sets ``stopping``.

    From the signal on, ``serve`` has the stop timeout, less ``CANCEL_SHARE`` of it, to return; then it is
    cancelled. Should the process still be there when the stop timeout is up (a cancelled ``serve`` that does
    not unwind, a blocked event loop, an exit that hangs), it ends hard with ``FORCED_EXIT``; so does a second
    signal. ``Stopped`` from ``serve`` (asked to stop while waiting for a dependency) is a normal stop.
    """
    tune_garbage_collection()
    timeout = settings.stop_timeout_seconds
    # A thread, not a task: it fires also when the event loop is blocked. A daemon, so it never holds up an exit.
    deadline = threading.Timer(timeout, _exit_hard, kwargs={"reason": "stop_timeout_exceeded",
                                                             "timeout_seconds": timeout})
    deadline.daemon = True

    async def main() -> None:
        stopping = asyncio.Event()

        def on_signal(sig: signal.Signals) -> None:
            if stopping.is_set():
                _exit_hard(reason="second_signal", signal=sig.name)
            log.info("stop_requested", signal=sig.name, timeout_seconds=timeout)
            stopping.set()
            deadline.start()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        serving = asyncio.ensure_future(serve(settings, stopping))
        await _stopped_in_time(serving, stopping, timeout * (1 - CANCEL_SHARE))
        try:
            serving.result()
        except Stopped as stopped:
            if not stopping.is_set():
                raise
            log.info("stopped_while_waiting", dependency=stopped.dependency)
        except asyncio.CancelledError:
            pass  # cancelled by ``_stopped_in_time``, which told it

    asyncio.run(main())


async def _stopped_in_time(serving: asyncio.Future[None], stopping: asyncio.Event, patience: float) -> None:
    """Wait until ``serving`` ends: by itself, or within ``patience`` seconds of ``stopping``, or cancelled."""
    signalled = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({serving, signalled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        signalled.cancel()
    if not serving.done():
        await asyncio.wait({serving}, timeout=patience)
    if not serving.done():
        log.warning("stop_timed_out_cancelling", seconds=round(patience, 1))
        serving.cancel()
        await asyncio.wait({serving})  # the deadline ends the process should this take too long


def _exit_hard(**why: object) -> None:
    """End the process now, skipping what is left of the stop; uncommitted work is delivered again."""
    log.error("stop_forced", exit_code=FORCED_EXIT, **why)
    sys.stderr.flush()
    sys.stdout.flush()
    os._exit(FORCED_EXIT)
