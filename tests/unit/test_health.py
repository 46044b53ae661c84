"""The health endpoints every service serves, and their server."""

import asyncio
import socket

import httpx
import pytest

from plumbing.exceptions import HttpUnavailable
from plumbing.health import beside_health, health_app, serve_http


def _client(reason: str | None) -> httpx.AsyncClient:
    async def ready() -> str | None:
        return reason

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=health_app("test", ready)), base_url="http://svc")


async def test_live_is_200_whatever_the_dependencies_and_ready_names_what_is_away():
    async with _client("database unreachable") as client:
        assert (await client.get("/health/live")).json() == {"status": "live"}
        assert (await client.get("/health")).status_code == 200
        not_ready = await client.get("/health/ready")
    assert not_ready.status_code == 503 and not_ready.headers["content-type"] == "application/problem+json"
    assert not_ready.json()["detail"] == "not ready: database unreachable"
    assert int(not_ready.headers["retry-after"]) > 0 and not_ready.headers["api-version"]


async def test_ready_is_200_when_nothing_is_away_and_metrics_are_served():
    async with _client(None) as client:
        assert (await client.get("/health/ready")).json() == {"status": "ready"}
        assert (await client.get("/metrics")).status_code == 200


async def test_a_port_taken_is_a_clear_error_not_an_exit_of_the_process():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(HttpUnavailable, match="port taken"):
            await asyncio.wait_for(serve_http(health_app("test", lambda: None), "127.0.0.1",  # type: ignore[arg-type]
                                              taken.getsockname()[1], asyncio.Event()), 10)


async def test_a_service_and_its_health_server_end_together_and_a_port_taken_is_what_is_raised():
    stopping, work_ended = asyncio.Event(), asyncio.Event()

    async def work() -> None:
        try:
            await stopping.wait()
        finally:
            work_ended.set()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(HttpUnavailable):
            await asyncio.wait_for(beside_health(work(), health_app("test", lambda: None),  # type: ignore[arg-type]
                                                 "127.0.0.1", taken.getsockname()[1], stopping), 10)
    assert work_ended.is_set() and stopping.is_set()  # no service without its health checks
