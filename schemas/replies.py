"""Replies (topic ``loket.contacts.v1``): the first written reply to a question asked on a written channel.

A web form, an e-mail or a letter is answered afterwards; the norms time that answer against the promised term
(e-mail and web within 2 working days, letters within 3 weeks), from the question's ``received_at`` to the
reply's ``sent_at``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.contacts import REFERENCE_PATTERN, Channel
from schemas.envelope import CloudEvent, Frozen


class FirstReplySentData(Frozen):
    """The first reply to one contact went out (eerste reactie verzonden)."""

    contact_id: str = Field(min_length=1, max_length=64,
                            description="The contact replied to, as Loket's intake gave its id. No personal data.")
    channel: Channel = Field(description="The channel of the question replied to: web, email or letter.")
    sent_at: AwareDatetime = Field(description="When the reply was sent.")
    reply_reference: str = Field(pattern=REFERENCE_PATTERN,
                                 description="The sending system's id of the reply. In data only.")


class FirstReplySent(CloudEvent[FirstReplySentData]):
    """The first written reply to a contact was sent (``time``: when the intake took the report)."""

    type: Literal["nl.loket.contacts.first-reply-sent"]
