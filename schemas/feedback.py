"""Feedback on a contact (topic ``loket.contacts.v1``): the party's satisfaction score (KTO), 1 to 10.

Complaints, correction requests and ideas are questions (``QuestionAsked``) the router routes by their subject;
a score rates a contact that was handled before, and reaches the norms (satisfaction at least 7.5).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.contacts import REFERENCE_PATTERN, Channel
from schemas.envelope import CloudEvent, Frozen


class SatisfactionScoredData(Frozen):
    """A party's score of one contact (klanttevredenheid)."""

    contact_id: str = Field(min_length=1, max_length=64,
                            description="The contact the score rates, as Loket's intake gave its id. No personal data.")
    channel: Channel = Field(description="The channel of the rated contact.")
    score: int = Field(ge=1, le=10, description="The party's score, 1 (very bad) to 10 (excellent).")
    scored_at: AwareDatetime = Field(description="When the party gave the score.")
    response_reference: str = Field(pattern=REFERENCE_PATTERN,
                                    description="The survey tool's id of the response. In data only.")


class SatisfactionScored(CloudEvent[SatisfactionScoredData]):
    """A party scored a contact (``time``: when the intake took the score)."""

    type: Literal["nl.loket.contacts.satisfaction-scored"]
