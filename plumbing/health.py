"""What every service tells an orchestrator and Prometheus over HTTP: ``/health/live`` (the process serves:
nothing to restart), ``/health/ready`` (it can do its work now, or 503 problem+json naming why not:
``broker unreachable``, ``database unreachable``), and ``/metrics``.

Services without an API of their own (router, cases) serve these from a small uvicorn server inside their
event loop (``serve_http``); the intake adds the same endpoints to its API.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Iterator

import asyncpg
import uvicorn
from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Response

from plumbing.api import header_limited_httptools, problem, problem_response
from plumbing.exceptions import HttpUnavailable
from plumbing.http import add_metrics_endpoint

#: Why a service cannot do its work now, or ``None`` when it can.
ReadyCheck = Callable[[], Awaitable[str | None]]
#: Seconds an orchestrator is asked to wait before it asks again.
RETRY_AFTER_SECONDS = 5
#: Seconds a readiness probe waits for a dependency before calling it unreachable.
PROBE_TIMEOUT = 3.0
HEALTH_VERSION = "1.0.0"


def add_health_endpoints(app: FastAPI, ready: ReadyCheck, version: str = HEALTH_VERSION) -> None:
    """``/health`` and ``/health/live`` (always 200 while the process serves) and ``/health/ready``."""

    @app.get("/health", include_in_schema=False)
    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        """The process serves requests: nothing for an orchestrator to restart."""
        return {"status": "live"}

    @app.get("/health/ready", include_in_schema=False, response_model=None)
    async def readiness() -> dict[str, str] | Response:
        """Whether the service can do its work now; 503 naming the reason when not."""
        reason = await ready()
        if reason is None:
            return {"status": "ready"}
        return problem_response(problem(503, f"not ready: {reason}"), version,
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def health_app(title: str, ready: ReadyCheck) -> FastAPI:
    """The HTTP app of a service without an API: health and metrics only."""
    app = FastAPI(title=title, version=HEALTH_VERSION, openapi_url=None, docs_url=None, redoc_url=None)
    add_metrics_endpoint(app)
    add_health_endpoints(app, ready)
    return app


async def database_unreachable(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether PostgreSQL does not answer ``SELECT 1`` within ``timeout`` seconds, on a connection of the probe's
    own: a probe given up on must never leave a connection of the service's pool in a state of its making."""
    try:
        async with asyncio.timeout(timeout):
            conn = await asyncpg.connect(url)
            try:
                await conn.fetchval("SELECT 1")
            finally:
                await conn.close()
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return True
    return False


async def broker_unreachable(client: AIOKafkaClient, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether the broker does not answer a metadata request within ``timeout`` seconds."""
    try:
        await asyncio.wait_for(client.fetch_all_metadata(), timeout)
    except (TimeoutError, KafkaError):
        return True
    return False


async def beside_health(work: Coroutine[object, object, None], app: FastAPI, host: str, port: int,
                        stopping: asyncio.Event) -> None:
    """Run a service's ``work`` with ``app`` served beside it until ``stopping`` is set. Each goes with the
    other (no service without health checks, nor the other way round); what ended them is raised, a health
    server that could not serve first."""
    health = asyncio.ensure_future(serve_http(app, host, port, stopping))
    working = asyncio.ensure_future(work)
    both = (health, working)
    try:
        await asyncio.wait(both, return_when=asyncio.FIRST_COMPLETED)
        stopping.set()
        await asyncio.wait(both)
    finally:
        for task in both:  # still running only when this is cancelled itself
            task.cancel()
        await asyncio.gather(*both, return_exceptions=True)
    health.result()
    working.result()


def broker_ready(producer: Callable[[], AIOKafkaProducer | None]) -> ReadyCheck:
    """Readiness of a service that needs only the broker: ``producer()`` is the producer in use, ``None`` until
    the service has started."""

    async def ready() -> str | None:
        started = producer()
        if started is None or await broker_unreachable(started.client):
            return "broker unreachable"
        return None

    return ready


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The service owns SIGINT/SIGTERM; it stops this server through ``stopping``.
        yield


async def serve_http(app: FastAPI, host: str, port: int, stopping: asyncio.Event) -> None:
    """Serve ``app`` until ``stopping`` is set."""
    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                    server_header=False, lifespan="off", http=header_limited_httptools(app.version)))
    serving = asyncio.ensure_future(_serve(server))
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({serving, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        server.should_exit = True
        if not await serving and not stopping.is_set():
            raise HttpUnavailable(f"cannot serve HTTP on {host}:{port} (is the port taken?)")


async def _serve(server: uvicorn.Server) -> bool:
    """Whether the server ran; uvicorn ends the process when it cannot listen, which a service must not."""
    try:
        await server.serve()
    except SystemExit:
        return False
    return server.started
