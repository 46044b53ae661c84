"""Settings of the router service."""

from pathlib import Path

from pydantic import Field

from plumbing.organisation import DEFAULT_FILE
from plumbing.settings import KafkaSettings


class RouterSettings(KafkaSettings):
    """``LOKET_*`` settings of ``loket router``."""

    organisation_file: Path = Field(DEFAULT_FILE, description="TOML file of the organisation's catalog.")
    router_batch_size: int = Field(1000, ge=1, description="Most questions routed per batch.")
    router_host: str = Field("127.0.0.1", description="Address of the router's health and metrics HTTP server.")
    router_port: int = Field(8083, ge=0, le=65535, description="Port of the router's health and metrics HTTP server.")
