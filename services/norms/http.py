"""The norms HTTP server: ``/metrics`` for Prometheus and ``/health`` (``/live``, ``/ready``) for the process manager.

It serves no API and so no OAS document or ``/docs``: what the norms service measures reaches people as
Prometheus metrics. The public thermometer that will show it is an API of its own, built with
``plumbing.api`` like the intake's.
"""

from __future__ import annotations

from fastapi import FastAPI

from plumbing.health import ReadyCheck, health_app


async def _not_measuring() -> str | None:
    return "not measuring"  # an app that was given no way to tell cannot say it is ready


def create_http_app(ready: ReadyCheck = _not_measuring) -> FastAPI:
    """The norms server's app; ``ready`` says why the service cannot measure now (``None`` when it can)."""
    return health_app("Loket norms", ready)
