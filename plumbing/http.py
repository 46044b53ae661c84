"""HTTP plumbing: the Prometheus endpoint every service serves."""

from __future__ import annotations

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def add_metrics_endpoint(app: FastAPI) -> None:
    """``GET /metrics`` in the Prometheus text format, at exactly that path (a mount would redirect). On the event
    loop, not in a worker thread: collectors read state that only the loop changes (the norms' book, the
    processors' offsets), and a scrape of a few hundred samples takes a millisecond or two."""

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
