"""Settings of the norms service."""

from pathlib import Path

from pydantic import Field

from plumbing.api import ApiSettings
from plumbing.organisation import DEFAULT_FILE
from plumbing.settings import KafkaSettings


class NormsSettings(KafkaSettings, ApiSettings):
    """``LOKET_*`` settings of ``loket norms``."""

    organisation_file: Path = Field(DEFAULT_FILE, description="TOML file of the organisation: its norms.")
    norms_host: str = Field("127.0.0.1", description="Address of the thermometer, metrics and health HTTP server.")
    norms_port: int = Field(8082, ge=0, le=65535, description="Port of the thermometer, metrics and health HTTP "
                            "server.")
    norms_batch_size: int = Field(1000, ge=1, description="Most records measured per batch (one commit each).")
