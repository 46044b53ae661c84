"""Every Loket topic: its name, its key and the event types it carries.

Names are versioned; a breaking change is a new topic version, never an in-place change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.cases import CaseOpened, CaseResolved, OpenCase
from schemas.contacts import QuestionAsked
from schemas.deadletters import DeadLetter
from schemas.decisions import RoutingDecided
from schemas.envelope import CloudEvent


class Service(StrEnum):
    """Loket's services; each consumes in a consumer group of its own name (behind the topic prefix)."""

    INTAKE = "intake"
    ROUTER = "router"
    CASES = "cases"
    NORMS = "norms"


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract: who publishes to it and which consumer groups read it."""

    name: str
    key: str
    description: str
    events: tuple[type[CloudEvent], ...]
    senders: tuple[Service, ...] = ()
    receivers: tuple[Service, ...] = ()


CONTACTS = TopicSpec(
    "loket.contacts.v1",
    key="Party pseudonym (HMAC-SHA256), or the contact id when the party is unknown.",
    description="Every contact on every channel, in one stream.",
    events=(QuestionAsked,),
    senders=(Service.INTAKE,),
    receivers=(Service.ROUTER,),
)
DECISIONS = TopicSpec(
    "loket.decisions.v1",
    key="Party pseudonym, or the contact id when the party is unknown.",
    description="The one-desk router's decision on each question.",
    events=(RoutingDecided,),
    senders=(Service.ROUTER,),
    receivers=(Service.NORMS,),
)
CASE_REQUESTS = TopicSpec(
    "loket.case-requests.v1",
    key="Case id.",
    description="Commands to the case service to open a case (zaak).",
    events=(OpenCase,),
    senders=(Service.ROUTER,),
    receivers=(Service.CASES,),
)
CASE_EVENTS = TopicSpec(
    "loket.case-events.v1",
    key="Case id.",
    description="What happened to cases, published from the case service's outbox.",
    events=(CaseOpened, CaseResolved),
    senders=(Service.CASES,),
    receivers=(Service.ROUTER,),
)
DEAD_LETTERS = TopicSpec(
    "loket.dead-letters.v1",
    key="<source topic>:<partition>:<offset> of the refused record.",
    description="Records that could not be decoded or validated, with the reason; read by operators' tools, "
                "not by a Loket service.",
    events=(DeadLetter,),
    senders=(Service.ROUTER, Service.CASES, Service.NORMS),
)

ALL_TOPICS: tuple[TopicSpec, ...] = (CONTACTS, DECISIONS, CASE_REQUESTS, CASE_EVENTS, DEAD_LETTERS)
