"""Entry point of ``loket intake``: wiring only."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from plumbing.api import header_limited_httptools
from plumbing.lifecycle import tune_garbage_collection
from plumbing.logging import configure_logging
from services.intake.http import API_VERSION, create_app
from services.intake.settings import IntakeSettings

#: Share of the stop timeout that requests under way get to finish after SIGTERM (uvicorn's graceful shutdown;
#: a question waits for the broker at most its publish timeout); then the producer's stop has its share
#: (``services.intake.http.PRODUCER_STOP_SHARE``). uvicorn raises the signal again once it is done, so the
#: process ends by SIGTERM (exit status 143), as uvicorn's do.
REQUESTS_STOP_SHARE = 0.5


def serve(app: FastAPI, settings: IntakeSettings) -> None:
    """Serve ``app`` as the intake is served, until SIGINT or SIGTERM: what start-up made so far (the imports, the
    app) frozen out of the cyclic collector's sight (``tune_garbage_collection``), uvloop, and httptools with a
    limit on the headers. bench/intake_floor.py serves its floor this way too, so the two differ only in what
    the app does."""
    tune_garbage_collection()
    uvicorn.run(
        app,
        host=settings.intake_host,
        port=settings.intake_port,
        loop="uvloop",  # named, not "auto": without them the intake would quietly need a tenth more CPU
        http=header_limited_httptools(API_VERSION),
        log_level="warning",
        access_log=False,  # access lines are not needed and a query string could carry personal data
        server_header=False,  # ADR API-53: hide implementation details
        timeout_graceful_shutdown=settings.stop_timeout_seconds * REQUESTS_STOP_SHARE,
    )


def main() -> None:
    settings = IntakeSettings()
    configure_logging(settings.log_level, settings.log_format)
    serve(create_app(settings), settings)
