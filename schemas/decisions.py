"""Routing decisions: what the one-desk router did with a question (topic ``loket.decisions.v1``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.contacts import PSEUDONYM_PATTERN, Channel
from schemas.envelope import CloudEvent, Frozen


class Outcome(StrEnum):
    """How a question was handled."""

    ANSWERED = "answered"  # answered at once in the front office
    REFERRED = "referred"  # warm referral to another organisation
    LINKED = "linked"  # joined the party's open case on the same subject
    ESCALATED = "escalated"  # handed to a back office as a new case (zaak)


#: A question on a subject the same party asked about this many days before (or fewer) is a repeat contact.
REPEAT_CONTACT_DAYS = 7

#: Outcomes that close the question in the front office at first contact.
FRONT_OFFICE_OUTCOMES = frozenset({Outcome.ANSWERED, Outcome.REFERRED})


class ReferralInfo(Frozen):
    """Where a referred question belongs, and how the citizen reaches them (a warm referral)."""

    organisation: str = Field(description="Name of the organisation.")
    phone: str = Field(description="Public phone number.")
    web: str = Field(description="Web address.")


class Rule(StrEnum):
    """The one-desk rule a decision names: the router's closed vocabulary (metrics label by it, docs explain it)."""

    REFERRAL = "referral"  # the subject belongs to another organisation
    ASK_ONCE_LINK = "ask-once-link"  # joined the party's open case on the subject
    CALLBACK = "callback"  # a callback request: a case of its own
    FRONT_OFFICE_ANSWER = "front-office-answer"  # the catalog's knowledge answer, at once
    AGENT_OUTCOME = "agent-outcome"  # a live channel's agent decided
    ESCALATION = "escalation"  # a case for the subject's back office
    GENERAL_SUBJECT = "general-subject"  # nothing recognised: the generalist desk
    COMPLAINT = "complaint"  # Awb 9:11, to complaint handling
    CORRECTION = "correction"  # personal data to correct, to the registry
    IDEA = "idea"  # a suggestion, registered


class DecisionData(Frozen):
    """One routing decision, explainable: which rule fired and why."""

    question_id: str = Field(description="Event id of the question decided on.")
    contact_id: str = Field(description="Id of the contact.")
    channel: Channel = Field(description="Channel the question came in on.")
    party_pseudonym: str | None = Field(None, pattern=PSEUDONYM_PATTERN, description="Pseudonym of the party.")
    subject_code: str = Field(description="Onderwerp (subject) the question was classified as.")
    outcome: Outcome = Field(description="What was done.")
    rule: Rule = Field(description="The one-desk rule that fired.")
    reason: str = Field(description="Readable Dutch explanation of the decision.")
    answer: str | None = Field(None, description="Knowledge answer given, identical on every channel.")
    case_id: str | None = Field(None, description="Case (zaak) id when escalated or linked.")
    department: str | None = Field(None, description="Afdeling (department) the case went to.")
    due_date: dt.date | None = Field(None, description="When the case must be resolved, per the service norm.")
    referral: ReferralInfo | None = Field(None, description="The organisation referred to.")
    repeat_contact: bool = Field(
        False, description="The party asked about the same subject within 7 days: had to tell the story again."
    )
    about_subject: str | None = Field(
        None, description="A complaint's own subject, as the router reads its text: the best-matching ordinary "
        "question subject (for the recurring-problems report); null for other questions, or when none matches.")
    decided_at: AwareDatetime = Field(
        description="The instant the decision is made at: the question's own time (when it entered the stream), "
                    "not the router's clock, so a redelivered question is decided to the byte as the first time."
    )


class RoutingDecided(CloudEvent[DecisionData]):
    """The router decided how to handle a question.

    ``time``: the instant of the decision, ``data.decided_at``: the question's own time (when it entered the
    stream), so that a redelivery is the very same event.
    """

    type: Literal["nl.loket.decisions.routing-decided"]
