"""HTTP plumbing: the Prometheus endpoint, and an ASGI server inside a faust worker's process."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import mode
import uvicorn
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


class _EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The host process owns SIGINT/SIGTERM; it stops us through should_exit.
        yield


class EmbeddedHttp(mode.Service):
    """A uvicorn server as a mode service: starts and stops with the faust worker."""

    def __init__(self, app: object, host: str, port: int) -> None:
        super().__init__()
        self._server = _EmbeddedServer(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                                     server_header=False))
        self._task: asyncio.Task | None = None

    async def on_start(self) -> None:
        self._task = asyncio.ensure_future(self._server.serve())

    async def on_stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


def add_metrics_endpoint(app: FastAPI) -> None:
    """``GET /metrics`` in the Prometheus text format, at exactly that path (a mount would redirect)."""

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
