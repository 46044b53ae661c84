"""Every Loket topic: its name, its key and the event types it carries.

Names are versioned; a breaking change is a new topic version, never an in-place change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from schemas.calls import CALL_EVENTS
from schemas.cases import CHANGE_EVENTS, DEADLINE_EVENTS, CaseOpened, CaseResolved, OpenCase, WorkItem
from schemas.contacts import QuestionAsked
from schemas.counter import COUNTER_EVENTS
from schemas.deadletters import DeadLetter
from schemas.feedback import SatisfactionScored
from schemas.replies import FirstReplySent
from schemas.decisions import RoutingDecided
from schemas.envelope import CloudEvent


class Service(StrEnum):
    """Loket's services; each consumes in a consumer group of its own name (behind the topic prefix)."""

    INTAKE = "intake"
    ROUTER = "router"
    CASES = "cases"
    NORMS = "norms"


#: Days of contacts and decisions kept: the norms are measured from the topics, over windows of up to 30 days and
#: the window before (the trend), at each start of the norms service and by ``loket norms rebuild``; two days spare.
NORMS_HISTORY_DAYS = 62
#: Days of case events kept: a case's opening must still be there when it is resolved, for the norms, and cases
#: run for months (a complaint's term can be extended, a case suspended).
CASE_HISTORY_DAYS = 400


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the contract: who publishes to it and which consumer groups read it."""

    name: str
    key: str
    description: str
    events: tuple[type[CloudEvent], ...]
    senders: tuple[Service, ...] = ()
    receivers: tuple[Service, ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()  # (name, description) of each ``{name}`` in ``name``
    retention_days: int | None = None  # how long records are kept, when Loket creates the topic; None: the broker's

    @property
    def retention_ms(self) -> int | None:
        return None if self.retention_days is None else self.retention_days * 24 * 60 * 60 * 1000

    def with_parameters(self, **values: str) -> "TopicSpec":
        """The concrete topic of a parametrised one, e.g. one department's work queue."""
        return replace(self, name=self.name.format(**values), parameters=())


CONTACTS = TopicSpec(
    "loket.contacts.v1",
    key="Party pseudonym (HMAC-SHA256), or the contact id when the party is unknown; a call's events: the "
        "call's contact id; a counter visit's events: the visit's contact id; a satisfaction score: the rated "
        "contact's id; a first reply: the id of the contact replied to.",
    description="Every contact on every channel, in one stream: the questions, what the channel systems "
                "see of each contact (a call's queue, answer, abandonment, transfer and end; a counter visit's "
                "ticket or appointment, call and service), the first written "
                "replies to web, e-mail and letter questions, and the parties' satisfaction scores.",
    events=(QuestionAsked, *CALL_EVENTS, *COUNTER_EVENTS, SatisfactionScored, FirstReplySent),
    senders=(Service.INTAKE,),
    receivers=(Service.ROUTER, Service.NORMS),
    retention_days=NORMS_HISTORY_DAYS,
)
DECISIONS = TopicSpec(
    "loket.decisions.v1",
    key="Party pseudonym, or the contact id when the party is unknown.",
    description="The one-desk router's decision on each question.",
    events=(RoutingDecided,),
    senders=(Service.ROUTER,),
    receivers=(Service.NORMS, Service.CASES),
    retention_days=NORMS_HISTORY_DAYS,
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
    events=(CaseOpened, *CHANGE_EVENTS.values(), CaseResolved, *DEADLINE_EVENTS.values()),
    senders=(Service.CASES,),
    receivers=(Service.ROUTER, Service.NORMS),
    retention_days=CASE_HISTORY_DAYS,
)
BACKOFFICE = TopicSpec(
    "loket.backoffice.{department}.v1",
    key="Case id.",
    description="One department's work queue: a work item for each case it gets, new or transferred. Created "
                "by the case service for every department of the organisation file.",
    events=(WorkItem,),
    senders=(Service.CASES,),
    parameters=(("department", "Code of the afdeling (department), as in the organisation file."),),
)
DEAD_LETTERS = TopicSpec(
    "loket.dead-letters.v1",
    key="<source topic>:<partition>:<offset> of the refused record.",
    description="Records that could not be decoded or validated, with the reason; read by operators' tools, "
                "not by a Loket service.",
    events=(DeadLetter,),
    senders=(Service.ROUTER, Service.CASES, Service.NORMS),
)

ALL_TOPICS: tuple[TopicSpec, ...] = (CONTACTS, DECISIONS, CASE_REQUESTS, CASE_EVENTS, BACKOFFICE, DEAD_LETTERS)
#: The topics that exist as named (the parametrised ones exist once per value).
FIXED_TOPICS: tuple[TopicSpec, ...] = tuple(t for t in ALL_TOPICS if not t.parameters)
