"""Bodies of the intake HTTP API: a question as a channel system submits it, and the answer.

Errors are ``schemas.problem.Problem``. Every rule the intake enforces on a body is also stated in the
JSON Schema (a pattern, a format or the model's ``allOf``), so the document says what the code does;
rules no schema can hold (the eleven test, a possible phone number, the ``received_at`` window) are
named in the field's description.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, EmailStr, Field, field_validator, model_validator

from schemas.contacts import LIVE_CHANNELS, REFERENCE_PATTERN, AgentOutcome, Attachment, Channel
from schemas.envelope import PRINTABLE_PATTERN, Frozen, JsonInt, Text

#: The same, with at least one character that is not white space.
NOT_BLANK_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*[^\s\x00-\x08\x0b\x0c\x0e-\x1f][^\x00-\x08\x0b\x0c\x0e-\x1f]*$"
#: RFC 3339 ``date-time`` with its offset; pydantic alone would also take a Unix timestamp or a space.
RFC3339_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_LIVE = sorted(channel.value for channel in LIVE_CHANNELS)


def present(name: str) -> dict[str, Any]:
    """JSON Schema: member ``name`` is there and not null (for rules across fields)."""
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def rfc3339(value: object) -> object:
    """A time as JSON gives it must be an RFC 3339 string (pydantic alone would take a Unix timestamp too); a
    Python caller's aware datetime is already what RFC 3339 describes."""
    if isinstance(value, dt.datetime):
        return value
    if value is not None and not (isinstance(value, str) and RFC3339_PATTERN.match(value)):
        raise ValueError("must be an RFC 3339 date-time with an offset, such as 2026-11-23T09:30:00+01:00")
    return value


#: A time given as JSON: RFC 3339 with its offset, and nothing else pydantic would take for one.
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(rfc3339)]


class PartyIdentifiers(Frozen):
    """Who asks, as far as the channel knows. Any of these may be absent."""

    bsn: str | None = Field(
        None, pattern=r"^[0-9]{9}$", description="Burgerservicenummer: 9 digits passing the eleven test (elfproef)."
    )
    kvk: str | None = Field(None, pattern=r"^[0-9]{8}$", description="KvK-nummer: 8 digits.")
    email: EmailStr | None = Field(None, description="E-mail address.")
    phone: str | None = Field(
        None, pattern=r"^\+?[0-9 ()-]{6,20}$",
        description="Phone number that can be dialled: Dutch unless it starts with a country code.",
    )
    name: Text | None = Field(
        None, max_length=200, description="Name as given.", json_schema_extra={"pattern": PRINTABLE_PATTERN}
    )


#: What the model's validators enforce across fields, in JSON Schema 2020-12 (as OAS 3.1 takes it), and an
#: example for the documentation.
_CROSS_FIELD_RULES: dict[str, Any] = {
    "examples": [{"channel": "phone", "text": "Mijn kliko is kapot, wanneer krijg ik een nieuwe?",
                  "party": {"bsn": "111222333", "name": "J. Jansen"}, "agent_outcome": "escalated"}],
    "allOf": [
        {
            "description": "Give subject_code or text (or both).",
            "anyOf": [
                {"required": ["subject_code"], "properties": {"subject_code": {"type": "string"}}},
                {"required": ["text"], "properties": {"text": {"type": "string"}}},
            ],
        },
        {
            "description": f"agent_outcome only on a live channel ({', '.join(_LIVE)}).",
            "if": {"required": ["agent_outcome"], "properties": {"agent_outcome": {"type": "string"}}},
            "then": {"properties": {"channel": {"enum": _LIVE}}},
        },
    ]
}


class QuestionSubmission(Frozen):
    """A question from a channel system (CTI, web form, counter, mail room)."""

    model_config = ConfigDict(json_schema_extra=_CROSS_FIELD_RULES)

    channel: Channel = Field(description="Channel the question came in on.")
    subject_code: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64, description="Onderwerp code, if the channel knows it."
    )
    text: Text | None = Field(
        None, min_length=1, max_length=4000, description="The question in the party's words; not only white space.",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN},
    )
    party: PartyIdentifiers | None = Field(None, description="Who asks, if known.")
    channel_reference: str | None = Field(
        None, pattern=REFERENCE_PATTERN,
        description="The channel system's own id of the contact. Kept in the event's data only, never as a key.",
    )
    received_at: Rfc3339 | None = Field(
        None,
        description="When the channel received it (RFC 3339, with offset); now if absent. It must lie in the "
        "intake's window around its own clock: at most LOKET_INTAKE_RECEIVED_AT_MAX_FUTURE_SECONDS ahead (clock "
        "skew, default 300 s) and at most LOKET_INTAKE_RECEIVED_AT_MAX_AGE_DAYS back (default 30 days); else 422.",
    )
    agent_outcome: AgentOutcome | None = Field(
        None, description="The front-office employee's outcome; only on live channels (phone, counter, chat)."
    )
    attachments: tuple[Attachment, ...] = Field(
        (), max_length=10,
        description="Documents that came with the question (a photo, a form, the scanned letter), by reference: at "
        "most 10, each at most LOKET_INTAKE_ATTACHMENT_MAX_BYTES (default 25 MiB, the most the schema allows) "
        "large; a larger one is a 422.",
    )

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str | None) -> str | None:
        if text is not None and not text.strip():
            raise ValueError("is only white space")
        return text

    @model_validator(mode="after")
    def _subject_or_text(self) -> "QuestionSubmission":
        if self.subject_code is None and self.text is None:
            raise ValueError("give subject_code or text (or both)")
        if self.agent_outcome is not None and self.channel not in LIVE_CHANNELS:
            raise ValueError(f"agent_outcome is only given on live channels ({', '.join(_LIVE)}), not {self.channel}")
        return self


class QuestionAccepted(Frozen):
    """The question is in the stream: durable, and it will be routed."""

    event_id: str = Field(description="Id of the QuestionAsked event.")
    contact_id: str = Field(description="Id of the contact.")
    status: str = Field("accepted", description="Always 'accepted'.")


class ScoreSubmission(Frozen):
    """A party's satisfaction score (KTO) of a contact, from the survey tool."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "response_id": "kto-2026-000481", "contact_id": "4f1c2d7e-9a0b-4c3d-8e5f-6a7b8c9d0e1f", "channel": "phone",
        "score": 8, "scored_at": "2026-12-02T10:15:00+01:00"}]})

    response_id: str = Field(pattern=REFERENCE_PATTERN,
                             description="The survey tool's id of this response: sent again, it is the same score "
                             "(no second event); with another body, a 422.")
    contact_id: str = Field(pattern=REFERENCE_PATTERN,
                            description="The contact the score rates: the contact_id the intake answered with.")
    channel: Channel = Field(description="The channel of the rated contact.")
    score: JsonInt = Field(ge=1, le=10, description="1 (very bad) to 10 (excellent).")
    scored_at: Rfc3339 | None = Field(
        None, description="When the party gave the score (RFC 3339, with offset); now if absent. It must lie in "
        "the intake's window around its clock, as a question's received_at; else 422.")


class ReplySubmission(Frozen):
    """The first written reply to a web, e-mail or letter question went out: from the system that sent it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "antw-2026-004711", "contact_id": "4f1c2d7e-9a0b-4c3d-8e5f-6a7b8c9d0e1f", "channel": "email",
        "sent_at": "2026-12-03T14:05:00+01:00"}]})

    id: str = Field(pattern=REFERENCE_PATTERN,
                    description="The sending system's id of the reply: sent again, it is the same reply (no second "
                    "event); with another body, a 422.")
    contact_id: str = Field(pattern=REFERENCE_PATTERN,
                            description="The contact replied to: the contact_id the intake answered the question "
                            "with.")
    channel: Literal["web", "email", "letter"] = Field(description="The channel of the question replied to.")
    sent_at: Rfc3339 | None = Field(
        None, description="When the reply was sent (RFC 3339, with offset); now if absent. It must lie in the "
        "intake's window around its clock, as a question's received_at; else 422.")
