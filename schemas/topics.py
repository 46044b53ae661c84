"""Every Loket topic: its name, its key and the event types it carries.

Names are versioned; a breaking change is a new topic version, never an in-place change.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.cases import CaseOpened, CaseResolved, OpenCase
from schemas.contacts import QuestionAsked
from schemas.deadletters import DeadLetter
from schemas.decisions import RoutingDecided
from schemas.envelope import CloudEvent


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract."""

    name: str
    key: str
    description: str
    events: tuple[type[CloudEvent], ...]


CONTACTS = TopicSpec(
    "loket.contacts.v1",
    key="Party pseudonym (HMAC-SHA256), or the contact id when the party is unknown.",
    description="Every contact on every channel, in one stream.",
    events=(QuestionAsked,),
)
DECISIONS = TopicSpec(
    "loket.decisions.v1",
    key="Party pseudonym, or the contact id when the party is unknown.",
    description="The one-desk router's decision on each question.",
    events=(RoutingDecided,),
)
CASE_REQUESTS = TopicSpec(
    "loket.case-requests.v1",
    key="Case id.",
    description="Commands to the case service to open a case (zaak).",
    events=(OpenCase,),
)
CASE_EVENTS = TopicSpec(
    "loket.case-events.v1",
    key="Case id.",
    description="What happened to cases, published from the case service's outbox.",
    events=(CaseOpened, CaseResolved),
)
DEAD_LETTERS = TopicSpec(
    "loket.dead-letters.v1",
    key="<source topic>:<partition>:<offset> of the refused record.",
    description="Records that could not be decoded or validated, with the reason.",
    events=(DeadLetter,),
)

ALL_TOPICS: tuple[TopicSpec, ...] = (CONTACTS, DECISIONS, CASE_REQUESTS, CASE_EVENTS, DEAD_LETTERS)
