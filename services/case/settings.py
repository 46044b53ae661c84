"""Settings of the case service."""

from pydantic import Field

from plumbing.settings import DatabaseSettings, KafkaSettings


class CaseSettings(KafkaSettings, DatabaseSettings):
    """``LOKET_*`` settings of ``loket cases``."""

    case_batch_size: int = Field(500, ge=1, description="Most case requests handled per poll.")
    outbox_interval_seconds: float = Field(0.2, gt=0, description="How often the relay looks for new outbox rows.")
    case_host: str = Field("127.0.0.1", description="Address of the case service's health and metrics HTTP server.")
    case_port: int = Field(8084, ge=0, le=65535, description="Port of the case service's health and metrics HTTP "
                           "server.")
