"""Settings of the router service."""

from pathlib import Path

from pydantic import Field

from plumbing.organisation import DEFAULT_FILE
from plumbing.settings import KafkaSettings


class RouterSettings(KafkaSettings):
    """``LOKET_*`` settings of ``loket router``."""

    organisation_file: Path = Field(DEFAULT_FILE, description="TOML file of the organisation's catalog.")
    router_batch_size: int = Field(1000, ge=1, description="Most questions routed per batch.")
