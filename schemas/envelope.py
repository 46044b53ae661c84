"""The CloudEvents 1.0 envelope (structured JSON mode) in the NL GOV profile.

Context attributes never carry personal data: ``subject`` holds a pseudonym or an id, never a BSN.
"""

from __future__ import annotations

import functools
import re
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Generic, Literal, Self, TypeVar, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import to_json

DataT = TypeVar("DataT", bound=BaseModel)

#: ``urn:nld:oin:<20-digit OIN>:systeem:<name>`` — the NL GOV profile's form for ``source``.
SOURCE_PATTERN = r"^urn:nld:oin:\d{20}:systeem:[a-z0-9][a-z0-9._-]*$"
#: Reverse-DNS event type with a plural domain name (NL GOV profile), e.g. ``nl.loket.contacts.question-asked``.
TYPE_PATTERN = r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$"
#: Where the contract's JSON Schemas are published: ``<base><type>.json`` (also each schema's ``$id``).
SCHEMA_BASE_URI = "https://loket.example/schemas/"
#: The Kafka protocol binding's ``content-type`` header of a structured-mode event (JSON format).
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _printable(value: str) -> str:
    # A NUL byte passes JSON but not PostgreSQL; other control characters (but tab and newlines) are noise.
    if _CONTROL.search(value):
        raise ValueError("contains control characters")
    return value


#: Free text from people: any Unicode but control characters.
Text = Annotated[str, AfterValidator(_printable)]
#: ``Text``'s rule as a JSON Schema pattern, for the documents of the APIs that take it.
PRINTABLE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"


def _json_integer(value: object) -> object:
    # JSON Schema's integer is a number without a fraction (8.0 too); a string or a boolean is none.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    return value


#: A whole number as JSON Schema has it: 8 and 8.0, but not "8" or true (which pydantic alone would take).
JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class Frozen(BaseModel):
    """Base of every Loket message: immutable, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class CloudEvent(Frozen, Generic[DataT]):
    """A CloudEvents 1.0 event in structured JSON mode (NL GOV profile).

    ``specversion``, ``id``, ``source`` and ``type`` are required: a consumer never invents a missing
    one (an invented ``id`` would make a redelivery look like a new event). Producers mint them in
    ``create``. Unknown extension attributes are tolerated (and dropped), as CloudEvents asks of consumers.
    Each subclass fixes ``type`` and says in its docstring what its ``time`` means, as the NL GOV profile asks.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = Field(description="CloudEvents specification version.")
    id: str = Field(min_length=1, max_length=200, description="Unique per source; consumers deduplicate on it.")
    source: str = Field(
        pattern=SOURCE_PATTERN, description="URN of the sending system: urn:nld:oin:<OIN>:systeem:<name>."
    )
    type: str = Field(pattern=TYPE_PATTERN, description="Reverse-DNS event type; each subclass fixes it.")
    time: AwareDatetime | None = Field(
        None, description="When the occurrence happened (RFC 3339); each event type documents its occurrence."
    )
    subject: str | None = Field(
        None, max_length=200, description="What the event is about: an id or pseudonym, never personal data."
    )
    datacontenttype: Literal["application/json"] = Field("application/json", description="Media type of data.")
    dataschema: str | None = Field(None, description="URI of the published JSON Schema of this event type.")
    sequence: str | None = Field(None, description="Order of events from one source, as a string.")
    data: DataT = Field(description="The event payload.")

    @classmethod
    def create(cls, *, source: str, data: DataT, subject: str | None = None, **attrs: Any) -> Self:
        """A new event of this class's type: a fresh id unless ``id`` is given, stamped now unless ``time`` is."""
        if "id" not in attrs:  # not setdefault: that would mint a uuid4 for every event given its id
            attrs["id"] = str(uuid.uuid4())
        if "time" not in attrs:
            attrs["time"] = datetime.now(timezone.utc)
        return cls(specversion="1.0", type=cls.event_type(), dataschema=cls.schema_uri(), source=source,
                   subject=subject, data=data, **attrs)

    @classmethod
    def encode(cls, *, source: str, data: DataT, subject: str | None, time: datetime, id: str) -> bytes:
        """``create(...).to_bytes()`` with the same arguments, without building the envelope: for a producer on a
        hot path (the router's two events a question) whose attributes are valid by construction, a source of its
        own and an id and time derived from what it handles. ``data`` is a model, validated when it was made; a
        test holds both ways to the same bytes."""
        envelope = {"specversion": "1.0", "id": id, "source": source, "type": cls.event_type(), "time": time}
        if subject is not None:  # exclude_none leaves a dict's own keys alone
            envelope["subject"] = subject
        envelope.update(datacontenttype="application/json", dataschema=cls.schema_uri(), data=data)
        return to_json(envelope, exclude_none=True)

    @classmethod
    @functools.cache
    def event_type(cls) -> str:
        """The fixed ``type`` attribute of this event class (the one value its ``Literal`` allows)."""
        return get_args(cls.model_fields["type"].annotation)[0]

    @classmethod
    @functools.cache
    def schema_uri(cls) -> str:
        """Where the JSON Schema of this event type is published (its ``dataschema``)."""
        return f"{SCHEMA_BASE_URI}{cls.event_type()}.json"

    def to_bytes(self) -> bytes:
        """Structured-mode JSON, as it goes on the wire (with ``STRUCTURED_CONTENT_TYPE`` as its content type)."""
        # pydantic-core's serializer itself: ``model_dump_json``'s Python wrapper costs as much as the work.
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)


def source_urn(oin: str, system: str) -> str:
    """The NL GOV ``source`` URN of one of our systems."""
    return f"urn:nld:oin:{oin}:systeem:{system}"
