"""Contacts: what a citizen or business asks, on any channel (topic ``loket.contacts.v1``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, EmailStr, Field

from schemas.envelope import PRINTABLE_PATTERN, CloudEvent, Frozen, JsonInt, Text

PSEUDONYM_PATTERN = r"^[0-9a-f]{64}$"
#: A channel system's own id of something (a call, a ticket, a report, a survey response): never personal data.
REFERENCE_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"


class Channel(StrEnum):
    """The channel a contact came in on (kanaal)."""

    PHONE = "phone"
    WEB = "web"
    CHAT = "chat"
    COUNTER = "counter"
    EMAIL = "email"
    LETTER = "letter"


class AgentOutcome(StrEnum):
    """What a front-office employee on a live channel decided; it wins over the catalog's default."""

    ANSWERED = "answered"
    REFERRED = "referred"
    ESCALATED = "escalated"
    CALLBACK = "callback"  # terugbelverzoek


LIVE_CHANNELS = frozenset({Channel.PHONE, Channel.COUNTER, Channel.CHAT})
#: The channels answered afterwards, in writing: the norms time their first reply (``FirstReplySent``).
WRITTEN_CHANNELS = frozenset({Channel.WEB, Channel.EMAIL, Channel.LETTER})
#: The largest attachment a question may refer to (the intake's own limit may be lower).
ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
#: Where an attachment is kept: an https URL with neither user nor query, which could carry personal data.
ATTACHMENT_URL_PATTERN = r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?$"


class Attachment(Frozen):
    """A document that came with a question (a photo, a form, a scanned letter), by reference: the document
    itself stays where the channel system keeps it."""

    url: str = Field(max_length=2048, pattern=ATTACHMENT_URL_PATTERN,
                     description="Where the channel system keeps it: https, without user or query.")
    name: Text = Field(min_length=1, max_length=255, description="The file name as given. In data only.",
                       json_schema_extra={"pattern": PRINTABLE_PATTERN})
    media_type: str = Field(max_length=127, pattern=r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$",
                            description="Its media type, e.g. application/pdf or image/jpeg.")
    size_bytes: JsonInt = Field(ge=0, le=ATTACHMENT_MAX_BYTES, description="Its size in bytes.")


class PersonalData(Frozen):
    """What the back office needs to do the work. Travels only in event data, never in keys or logs."""

    bsn: str | None = Field(None, pattern=r"^[0-9]{9}$", description="Burgerservicenummer (citizen service number).")
    kvk: str | None = Field(None, pattern=r"^[0-9]{8}$", description="KvK-nummer (Chamber of Commerce number).")
    name: Text | None = Field(None, max_length=200, description="Name as given by the party.")
    email: EmailStr | None = Field(None, description="E-mail address for the answer.")
    phone: str | None = Field(None, pattern=r"^\+?[0-9 ()-]{6,32}$", description="Phone number for a callback.")


class PartyRef(Frozen):
    """The party (citizen or business) behind a contact, known by a keyed pseudonym."""

    pseudonym: str = Field(pattern=PSEUDONYM_PATTERN, description="HMAC-SHA256 of the strongest identifier.")
    identified_by: Literal["bsn", "kvk", "email", "phone"] = Field(
        description="Which identifier the pseudonym was made from."
    )
    personal: PersonalData | None = Field(None, description="Personal data for the back office.")


class QuestionData(Frozen):
    """A question registered on any channel (vraag)."""

    contact_id: str = Field(
        min_length=1, max_length=64, description="Id of this contact (klantcontact), minted by Loket: no personal data."
    )
    channel: Channel = Field(description="Channel the question came in on.")
    subject_code: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64, description="Onderwerp (subject) code, if known."
    )
    text: Text | None = Field(None, max_length=4000, description="The question in the party's own words.")
    channel_reference: str | None = Field(
        None, max_length=64, description="The channel system's own id of the contact (call id, ticket number)."
    )
    party: PartyRef | None = Field(None, description="Who asks, when known.")
    received_at: AwareDatetime = Field(description="When the channel received the question.")
    agent_outcome: AgentOutcome | None = Field(
        None, description="Outcome given by the front-office employee on a live channel (phone, counter, chat)."
    )
    attachments: tuple[Attachment, ...] = Field((), max_length=10, description="Documents that came with it.")

    def partition_key(self) -> str:
        """Kafka key: the party's pseudonym, or the contact id when the party is unknown."""
        return self.party.pseudonym if self.party else self.contact_id


class QuestionAsked(CloudEvent[QuestionData]):
    """A question was registered (vraag gesteld).

    ``time``: when the intake accepted the question into the stream; when the channel received it is
    ``data.received_at``.
    """

    type: Literal["nl.loket.contacts.question-asked"]
