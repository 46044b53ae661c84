"""Settings of the intake service."""

from pydantic import Field, SecretStr, field_validator

from plumbing.api import ApiSettings
from plumbing.settings import DEVELOPMENT_SECRET, KafkaSettings, PseudonymSettings
from schemas.contacts import ATTACHMENT_MAX_BYTES
from services.intake.auth import DEVELOPMENT_TOKENS, ChannelSystem

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
        description="How long the intake remembers an Idempotency-Key (and a channel system's report id): a "
        "retry within it gets the first answer, the key with another body a 422. The keys are journalled in a "
        "compacted topic of the intake's own, kept this long (as set when the topic was made), and read back at "
        "start-up, so a restart forgets none; a second instance learns the other's keys at its start. A key "
        "forgotten all the same (the process was killed before its journal record went out) is still no "
        "second question: its event id is derived from the key and the body, so consumers drop the retry as a "
        "redelivery.",
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
    intake_attachment_max_bytes: int = Field(
        ATTACHMENT_MAX_BYTES, ge=0, le=ATTACHMENT_MAX_BYTES,
        description="Largest attachment a question may refer to, in bytes (its size_bytes); a larger one is a 422. "
        "At most the 25 MiB the API's schema allows.",
    )
    intake_tokens: dict[ChannelSystem, SecretStr] = Field(
        DEVELOPMENT_TOKENS,
        description="Each channel system's bearer token, a JSON object of system (telephony, website, counter, "
        "mail, post, survey) to token (at least 24 characters, each system its own). A system left out cannot "
        "call. The default tokens are the local stack's only; the intake warns at start-up while one is in use.",
    )

    @field_validator("intake_tokens")
    @classmethod
    def _distinct_and_long(cls, tokens: dict[ChannelSystem, SecretStr]) -> dict[ChannelSystem, SecretStr]:
        values = [token.get_secret_value() for token in tokens.values()]
        if any(len(value) < 24 for value in values):
            raise ValueError("a channel system's token must be at least 24 characters")
        if len(set(values)) != len(values):
            raise ValueError("each channel system needs a token of its own")
        return tokens

    def development_tokens(self) -> list[str]:
        """The systems whose token is still the development one (start-up warns)."""
        return sorted(system.value for system, token in self.intake_tokens.items()
                      if token.get_secret_value() == DEVELOPMENT_TOKENS[system].get_secret_value())

    def token(self, system: ChannelSystem) -> str:
        """``system``'s token, for the tools that call the intake as that system (demo, simulator, bench)."""
        return self.intake_tokens[system].get_secret_value()
