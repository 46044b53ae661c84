"""Serve an ASGI app inside a process whose signals and event loop belong to someone else (faust's worker)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import mode
import uvicorn


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The host process owns SIGINT/SIGTERM; it stops us through should_exit.
        yield


class EmbeddedHttp(mode.Service):
    """A uvicorn server as a mode service: starts and stops with the faust worker."""

    def __init__(self, app: object, host: str, port: int) -> None:
        super().__init__()
        self._server = _EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
        self._task: asyncio.Task | None = None

    async def on_start(self) -> None:
        self._task = asyncio.ensure_future(self._server.serve())

    async def on_stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
