"""Settings of the case service."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from plumbing.organisation import DEFAULT_FILE
from plumbing.settings import DatabaseSettings, KafkaSettings
from services.case.auth import BackOfficeSettings
from services.case.deadlines import DEFAULT_LEVELS


class CaseSettings(KafkaSettings, DatabaseSettings, BackOfficeSettings):
    """``LOKET_*`` settings of ``loket cases``."""

    organisation_file: Path = Field(DEFAULT_FILE, description="TOML file of the organisation's catalog.")
    case_batch_size: int = Field(2000, ge=1, description="Most case requests handled per poll.")
    outbox_interval_seconds: float = Field(0.2, gt=0, description="How often the relay looks for new outbox rows.")
    deadline_levels: dict[Literal["warning", "breached", "escalated"], Annotated[float, Field(ge=0, le=10)]] = Field(
        DEFAULT_LEVELS, description="Deadline levels the watcher announces, with the share of a case's term at "
        "which each is reached, as JSON (a level left out is not announced).")
    deadline_interval_seconds: float = Field(
        60.0, gt=0, description="How often the deadline watcher looks for cases that reached a level.")
    case_host: str = Field("127.0.0.1", description="Address of the case service's HTTP server.")
    case_port: int = Field(8084, ge=0, le=65535, description="Port of the case service's HTTP server.")
