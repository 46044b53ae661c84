"""The norms HTTP server: ``/metrics`` for Prometheus."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import make_asgi_app


def create_http_app() -> FastAPI:
    app = FastAPI(title="Loket norms", version="1.0.0")
    app.mount("/metrics", make_asgi_app())

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
