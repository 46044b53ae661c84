"""Dead letters: records no consumer could decode or validate (``loket.dead-letters.v1``)."""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.envelope import CloudEvent, Frozen


class KeptHeader(Frozen):
    """One header of the refused record, as it was."""

    name: str = Field(description="Header name.")
    value_base64: str = Field(description="Header value bytes, base64.")


class DeadLetterData(Frozen):
    """The original record, where it came from, and why it was refused."""

    source_topic: str = Field(description="Topic the record was read from.")
    partition: int = Field(ge=0, description="Partition of the record.")
    offset: int = Field(ge=0, description="Offset of the record.")
    consumer: str = Field(description="The Loket service that refused it.")
    reason: str = Field(description="Readable reason the record was refused.")
    key_base64: str | None = Field(None, description="Original key bytes, base64.")
    value_base64: str | None = Field(None, description="Original value bytes, base64 (the first 256 KiB at most).")
    value_size: int = Field(0, ge=0, description="Size of the original value in bytes.")
    value_truncated: bool = Field(False, description="Only the first 256 KiB of the value are kept.")
    headers: list[KeptHeader] = Field(
        default_factory=list,
        description="The refused record's headers, as they were: a binary-mode event's attributes live there.",
    )
    failed_at: AwareDatetime = Field(description="When it was refused.")

    @staticmethod
    def encode(raw: bytes | None) -> str | None:
        """Base64 text of raw record bytes, for ``key_base64`` and ``value_base64``."""
        return None if raw is None else base64.b64encode(raw).decode("ascii")

    def original_value(self) -> bytes | None:
        """The refused record's value bytes, exactly as they were."""
        return None if self.value_base64 is None else base64.b64decode(self.value_base64)


class DeadLetter(CloudEvent[DeadLetterData]):
    """A record was refused and parked with its reason.

    ``time``: when the record was refused, the same instant as ``data.failed_at``.
    """

    type: Literal["nl.loket.dead-letters.dead-letter-recorded"]
