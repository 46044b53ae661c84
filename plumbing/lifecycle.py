"""Running a service until SIGINT or SIGTERM asks it to finish what it has in hand and stop."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import TypeVar

SettingsT = TypeVar("SettingsT")


def run_until_signalled(serve: Callable[[SettingsT, asyncio.Event], Awaitable[None]], settings: SettingsT) -> None:
    """``serve(settings, stopping)`` on a new event loop; a signal sets ``stopping``."""

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await serve(settings, stopping)

    asyncio.run(main())
