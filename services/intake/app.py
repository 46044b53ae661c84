"""Entry point of ``loket intake``: wiring only."""

from __future__ import annotations

import uvicorn

from plumbing.logging import configure_logging
from services.intake.http import create_app
from services.intake.settings import IntakeSettings


def main() -> None:
    settings = IntakeSettings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings),
        host=settings.intake_host,
        port=settings.intake_port,
        log_level="warning",
        access_log=False,  # access lines are not needed and a query string could carry personal data
        server_header=False,  # ADR API-53: hide implementation details
    )
