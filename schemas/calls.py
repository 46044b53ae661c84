"""Phone calls as the telephony platform (CTI) sees them, on ``loket.contacts.v1`` beside the questions.

A call is offered to a queue, then answered by an agent or abandoned by the caller; an answered call may be
transferred, and it ends with its talk and wrap-up time. What the caller asked is a separate
``QuestionAsked`` (channel ``phone``), registered by the agent, whose ``channel_reference`` is the call's.
These events are there for the phone norms (waiting time, abandonment). All of one call carry
the same ``contact_id`` and travel under it as their key, so they stay in order.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.contacts import REFERENCE_PATTERN, PartyRef
from schemas.envelope import CloudEvent, Frozen

#: A queue's code, as the CTI names it (wachtrij).
QUEUE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class CallData(Frozen):
    """What every event of a call carries."""

    contact_id: str = Field(min_length=1, max_length=64,
                            description="Id of the call as a contact (klantcontact), minted by Loket from the CTI's "
                            "call id: the same for every event of the call. No personal data.")
    call_reference: str = Field(pattern=REFERENCE_PATTERN,
                                description="The CTI's own id of the call. In data only, never a key.")
    queue: str = Field(pattern=QUEUE_PATTERN, description="The queue the call is (or was) in.")


class CallOfferedData(CallData):
    offered_at: AwareDatetime = Field(description="When the call entered the queue: its wait starts here.")
    party: PartyRef | None = Field(None, description="The caller, when the number was shown (pseudonymised).")


class CallAnsweredData(CallData):
    answered_at: AwareDatetime = Field(description="When an agent took the call.")
    wait_seconds: float = Field(ge=0, le=86400, description="How long the caller waited in the queue.")
    agent: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$",
                              description="The CTI's id of the agent (a login, not a name).")


class CallAbandonedData(CallData):
    abandoned_at: AwareDatetime = Field(description="When the caller hung up, still waiting.")
    wait_seconds: float = Field(ge=0, le=86400, description="How long the caller waited before giving up.")


class CallTransferredData(CallData):
    transferred_at: AwareDatetime = Field(description="When the call was put through.")
    to_queue: str | None = Field(None, pattern=QUEUE_PATTERN, description="Another queue of this organisation.")
    to_organisation: str | None = Field(None, min_length=1, max_length=200,
                                        description="Another organisation (e.g. the tax office), by name.")

    @model_validator(mode="after")
    def _one_destination(self) -> "CallTransferredData":
        if (self.to_queue is None) == (self.to_organisation is None):
            raise ValueError("give to_queue or to_organisation (one of them)")
        return self


class CallEndedData(CallData):
    ended_at: AwareDatetime = Field(description="When the call ended.")
    talk_seconds: float = Field(ge=0, le=86400, description="Time the agent and the caller talked.")
    wrap_up_seconds: float = Field(0, ge=0, le=86400,
                                   description="The agent's after-call work (nawerk) before the next call.")


class CallOffered(CloudEvent[CallOfferedData]):
    """A call was offered to a queue (``time``: when the intake took the CTI's report)."""

    type: Literal["nl.loket.contacts.call-offered"]


class CallAnswered(CloudEvent[CallAnsweredData]):
    """An agent answered a call."""

    type: Literal["nl.loket.contacts.call-answered"]


class CallAbandoned(CloudEvent[CallAbandonedData]):
    """A caller hung up while waiting in the queue."""

    type: Literal["nl.loket.contacts.call-abandoned"]


class CallTransferred(CloudEvent[CallTransferredData]):
    """An answered call was put through to another queue or organisation."""

    type: Literal["nl.loket.contacts.call-transferred"]


class CallEnded(CloudEvent[CallEndedData]):
    """A call ended."""

    type: Literal["nl.loket.contacts.call-ended"]


CALL_EVENTS: tuple[type[CloudEvent], ...] = (CallOffered, CallAnswered, CallAbandoned, CallTransferred, CallEnded)
