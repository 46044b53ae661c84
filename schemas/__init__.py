"""Loket's contract: the CloudEvents envelope, every event type, and the topics they travel on.

The bottom floor: imports nothing from the rest of Loket.
"""

from schemas.cases import CaseOpened, CaseOpenedData, CaseResolved, CaseResolvedData, OpenCase, OpenCaseData
from schemas.contacts import AgentOutcome, Channel, PartyRef, PersonalData, QuestionAsked, QuestionData
from schemas.deadletters import DeadLetter, DeadLetterData
from schemas.decisions import DecisionData, Outcome, ReferralInfo, RoutingDecided
from schemas.envelope import CloudEvent

__all__ = [
    "AgentOutcome",
    "CaseResolved",
    "CaseResolvedData",
    "ReferralInfo",
    "CaseOpened",
    "CaseOpenedData",
    "OpenCase",
    "OpenCaseData",
    "Channel",
    "CloudEvent",
    "DeadLetter",
    "DeadLetterData",
    "DecisionData",
    "Outcome",
    "PartyRef",
    "PersonalData",
    "QuestionAsked",
    "QuestionData",
    "RoutingDecided",
]
