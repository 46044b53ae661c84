"""The norms HTTP server: ``/metrics`` for Prometheus and ``/health`` for the process manager.

It serves no API and so no OAS document or ``/docs``: what the norms service measures reaches people as
Prometheus metrics. The public thermometer that will show it is an API of its own, built with
``plumbing.api`` like the intake's.
"""

from __future__ import annotations

from fastapi import FastAPI

from plumbing.http import add_metrics_endpoint


def create_http_app() -> FastAPI:
    app = FastAPI(title="Loket norms", version="1.0.0", openapi_url=None, docs_url=None, redoc_url=None)
    add_metrics_endpoint(app)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
