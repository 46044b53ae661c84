"""Settings of the intake service."""

from pydantic import Field, SecretStr

from plumbing.settings import KafkaSettings

#: Only for the local stack; start-up warns when it is still in use.
DEVELOPMENT_SECRET = "loket-development-only-pseudonym-secret"


class IntakeSettings(KafkaSettings):
    """``LOKET_*`` settings of ``loket intake``."""

    intake_host: str = Field("127.0.0.1", description="Address the intake HTTP API listens on.")
    intake_port: int = Field(8080, ge=0, le=65535, description="Port of the intake HTTP API.")
    pseudonym_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET), description="Key of the HMAC that pseudonymises party identifiers."
    )
