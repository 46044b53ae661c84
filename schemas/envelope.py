"""The CloudEvents 1.0 envelope (structured JSON mode) in the NL GOV profile.

Context attributes never carry personal data: ``subject`` holds a pseudonym or an id, never a BSN.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

DataT = TypeVar("DataT", bound=BaseModel)

#: ``urn:nld:oin:<20-digit OIN>:systeem:<name>`` — the NL GOV profile's form for ``source``.
SOURCE_PATTERN = r"^urn:nld:oin:\d{20}:systeem:[a-z0-9][a-z0-9._-]*$"
#: Reverse-DNS event type, e.g. ``nl.loket.contact.question-asked``.
TYPE_PATTERN = r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _printable(value: str) -> str:
    # A NUL byte passes JSON but not PostgreSQL; other control characters (but tab and newlines) are noise.
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


#: Free text from people: any Unicode but control characters.
Text = Annotated[str, AfterValidator(_printable)]


class Frozen(BaseModel):
    """Base of every Loket message: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CloudEvent(Frozen, Generic[DataT]):
    """A CloudEvents 1.0 event in structured JSON mode (NL GOV profile).

    Unknown extension attributes are tolerated (and dropped), as CloudEvents asks of consumers.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = Field("1.0", description="CloudEvents specification version.")
    id: str = Field(
        default_factory=lambda: str(uuid.uuid4()),
        min_length=1,
        max_length=200,
        description="Unique per source; consumers deduplicate on it.",
    )
    source: str = Field(
        pattern=SOURCE_PATTERN, description="URN of the sending system: urn:nld:oin:<OIN>:systeem:<name>."
    )
    type: str = Field(pattern=TYPE_PATTERN, description="Reverse-DNS event type; each subclass fixes it.")
    time: AwareDatetime | None = Field(None, description="When the occurrence happened (RFC 3339).")
    subject: str | None = Field(
        None, max_length=200, description="What the event is about: an id or pseudonym, never personal data."
    )
    datacontenttype: Literal["application/json"] = Field("application/json", description="Media type of data.")
    dataschema: str | None = Field(None, description="URI of the JSON Schema of data.")
    sequence: str | None = Field(None, description="Order of events from one source, as a string.")
    data: DataT = Field(description="The event payload.")

    @classmethod
    def create(cls, *, source: str, data: DataT, subject: str | None = None, **attrs: Any) -> "CloudEvent[DataT]":
        """A new event of this class's type, stamped now unless ``time`` is given."""
        attrs.setdefault("time", datetime.now(timezone.utc))
        return cls(source=source, subject=subject, data=data, **attrs)

    @classmethod
    def event_type(cls) -> str:
        """The fixed ``type`` attribute of this event class."""
        return cls.model_fields["type"].default

    def to_bytes(self) -> bytes:
        """Structured-mode JSON, as it goes on the wire."""
        return self.model_dump_json(exclude_none=True).encode()


def source_urn(oin: str, system: str) -> str:
    """The NL GOV ``source`` URN of one of our systems."""
    return f"urn:nld:oin:{oin}:systeem:{system}"
