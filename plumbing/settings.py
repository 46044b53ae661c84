"""Settings shared by every Loket process, read from ``LOKET_*`` environment variables.

Each service composes its own frozen settings class from these parts; nothing else reads
``os.environ``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LoketSettings(BaseSettings):
    """Base for every settings class: ``LOKET_`` prefix, frozen, unknown variables ignored."""

    model_config = SettingsConfigDict(env_prefix="LOKET_", frozen=True, extra="ignore")

    log_format: str = Field("console", description="'console' for people, 'json' for production.")
    log_level: str = Field("info", description="debug, info, warning or error.")
    state_dir: Path = Field(Path(".loket"), description="Folder for local state: the stack's jars, data and logs, "
                            "and the services' logs.")
    oin: str = Field(
        "00000001999999999000",
        pattern=r"^\d{20}$",
        description="Organisatie-identificatienummer (OIN) of the organisation; part of every event source.",
    )
    stop_timeout_seconds: float = Field(10.0, gt=0, description="Seconds a service takes at most to stop after "
                                        "SIGTERM or SIGINT, whatever state it is in; what it had not committed "
                                        "is delivered again.")


#: The pseudonym key of the local stack only; a service that finds it in use warns at start-up.
DEVELOPMENT_SECRET = "loket-development-only-pseudonym-secret"


class PseudonymSettings(LoketSettings):
    """The key parties are pseudonymised with: one for every service that makes or looks up pseudonyms, or the
    same party gets two."""

    pseudonym_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET), description="Key of the HMAC that pseudonymises party identifiers."
    )

    def pseudonym_key(self) -> bytes:
        return self.pseudonym_secret.get_secret_value().encode()

    def development_pseudonym_secret(self) -> bool:
        """Whether the key is still the development one (start-up warns)."""
        return self.pseudonym_secret.get_secret_value() == DEVELOPMENT_SECRET


class KafkaSettings(LoketSettings):
    """Where the Kafka broker is and how Loket's topics are named there."""

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, comma separated.")
    topic_prefix: str = Field(
        "", description="Prefix for every topic and consumer group; tests use it to share one broker."
    )
    topic_partitions: int = Field(4, ge=1, description="Partitions for topics Loket creates.")
    topic_replication: int = Field(1, ge=1, description="Replication factor for topics Loket creates.")


class DatabaseSettings(LoketSettings):
    """Where PostgreSQL is."""

    database_url: SecretStr = Field(
        SecretStr("postgresql://loket:loket@127.0.0.1:5432/loket"),
        description="PostgreSQL URL of the Loket database.",
    )


def database_on_same_server(url: str, database: str) -> str:
    """A PostgreSQL URL for another database on the same server, as the same user."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


class StackSettings(KafkaSettings, DatabaseSettings):
    """What ``loket stack`` needs: both servers and the folder it keeps their state in."""

