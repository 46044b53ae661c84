"""The norms HTTP server: ``/metrics`` for Prometheus."""

from __future__ import annotations

from fastapi import FastAPI

from plumbing.http import add_metrics_endpoint


def create_http_app() -> FastAPI:
    app = FastAPI(title="Loket norms", version="1.0.0")
    add_metrics_endpoint(app)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
