"""Settings of the norms service."""

from pydantic import Field

from plumbing.settings import KafkaSettings


class NormsSettings(KafkaSettings):
    """``LOKET_*`` settings of ``loket norms``."""

    norms_host: str = Field("127.0.0.1", description="Address of the metrics and thermometer HTTP server.")
    norms_port: int = Field(8082, ge=0, le=65535, description="Port of the metrics and thermometer HTTP server.")
    norms_batch_size: int = Field(1000, ge=1, description="Most decisions measured per batch (one commit each).")
