"""Settings of the intake service."""

from pydantic import Field

from plumbing.api import ApiSettings
from plumbing.settings import DEVELOPMENT_SECRET, KafkaSettings, PseudonymSettings

__all__ = ["DEVELOPMENT_SECRET", "IntakeSettings"]  # the key's definition is shared: plumbing.settings


class IntakeSettings(KafkaSettings, ApiSettings, PseudonymSettings):
    """``LOKET_*`` settings of ``loket intake``."""

    intake_host: str = Field("127.0.0.1", description="Address the intake HTTP API listens on.")
    intake_port: int = Field(8080, ge=0, le=65535, description="Port of the intake HTTP API.")
    intake_max_body_bytes: int = Field(
        64 * 1024, ge=1024,
        description="Largest request body taken, in bytes; a larger one is a 413, refused by its Content-Length "
        "before it is read, or as soon as a chunked body passes the limit.",
    )
    intake_received_at_max_future_seconds: int = Field(
        300, ge=0, description="How far a question's received_at may lie ahead of the intake's clock (clock skew).",
    )
    intake_received_at_max_age_days: int = Field(
        30, ge=1, description="How far a question's received_at may lie in the past (a letter scanned late).",
    )
    intake_idempotency_ttl_seconds: int = Field(
        24 * 3600, ge=1,
        description="How long the intake remembers an Idempotency-Key: a retry within it gets the first answer, "
        "the key with another body a 422. The memory is this process's own: with more than one intake "
        "instance, or after a restart, a retry is not recognised as one. It is then still no second question "
        "(its event id is derived from the key and the body, so consumers drop it as a redelivery), but it "
        "is published and counted again, and a reused key with another body is accepted as a new question.",
    )
    intake_publish_timeout_seconds: float = Field(
        5.0, gt=0, le=120,
        description="How long the intake waits for the broker to acknowledge a question before it answers 503 "
        "with Retry-After: a client is never kept waiting on a broker that is away, and never told 202 for a "
        "question the broker did not acknowledge.",
    )
    intake_idempotency_max_keys: int = Field(
        50_000, ge=1, description="Most Idempotency-Keys remembered at once; the oldest are forgotten first.",
    )
    intake_smtp_port: int | None = Field(
        None, ge=0, le=65535,
        description="Port of the intake's SMTP receiver (the mail door: each e-mail a question), on the intake's "
        "address; unset, there is none. The municipality's mail server forwards the KCC's mailbox to it.",
    )
    intake_mail_max_bytes: int = Field(
        10 * 1024 * 1024, ge=1024,
        description="Largest e-mail the SMTP receiver takes, in bytes (attachments included); a larger one is "
        "refused with 552, which the sender's mail server reports back to the sender.",
    )
