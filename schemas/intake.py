"""Bodies of the intake HTTP API: a question as a channel system submits it, and the answers."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, EmailStr, Field, model_validator

from schemas.contacts import LIVE_CHANNELS, AgentOutcome, Channel
from schemas.envelope import Frozen, Text


class PartyIdentifiers(Frozen):
    """Who asks, as far as the channel knows. Any of these may be absent."""

    bsn: str | None = Field(None, description="Burgerservicenummer: 9 digits passing the eleven test.")
    kvk: str | None = Field(None, pattern=r"^[0-9]{8}$", description="KvK-nummer: 8 digits.")
    email: EmailStr | None = Field(None, description="E-mail address.")
    phone: str | None = Field(None, pattern=r"^\+?[0-9 ()-]{6,20}$", description="Phone number.")
    name: Text | None = Field(None, max_length=200, description="Name as given.")


class QuestionSubmission(Frozen):
    """A question from a channel system (CTI, web form, counter, mail room)."""

    channel: Channel = Field(description="Channel the question came in on.")
    subject_code: str | None = Field(
        None, pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64, description="Onderwerp code, if the channel knows it."
    )
    text: Text | None = Field(None, min_length=1, max_length=4000, description="The question in the party's words.")
    party: PartyIdentifiers | None = Field(None, description="Who asks, if known.")
    channel_reference: str | None = Field(
        None, pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="The channel system's own id of the contact. Kept in the event's data only, never as a key.",
    )
    received_at: AwareDatetime | None = Field(None, description="When the channel received it; now if absent.")
    agent_outcome: AgentOutcome | None = Field(
        None, description="The front-office employee's outcome; only on live channels (phone, counter, chat)."
    )

    @model_validator(mode="after")
    def _subject_or_text(self) -> "QuestionSubmission":
        if self.subject_code is None and self.text is None:
            raise ValueError("give subject_code or text (or both)")
        if self.agent_outcome is not None and self.channel not in LIVE_CHANNELS:
            raise ValueError(f"agent_outcome is only given on live channels (phone, counter, chat), not {self.channel}")
        return self


class QuestionAccepted(Frozen):
    """The question is in the stream: durable, and it will be routed."""

    event_id: str = Field(description="Id of the QuestionAsked event.")
    contact_id: str = Field(description="Id of the contact.")
    status: str = Field("accepted", description="Always 'accepted'.")


class FieldProblem(Frozen):
    """One field that was wrong, and why."""

    field: str = Field(description="Dotted path of the field in the body.")
    reason: str = Field(description="What is wrong with it.")


class Problem(Frozen):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field("about:blank", description="URI of the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status code.")
    detail: str | None = Field(None, description="Explanation of this occurrence.")
    errors: list[FieldProblem] = Field(default_factory=list, description="The fields at fault.")

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
