"""A telephony platform's (CTI) call reports in a generic format, and their mapping onto Loket's call events.

Every telephony platform reports a call's course in its own JSON. The intake takes one generic format
(``CtiReport``, below: what most platforms' webhooks can be configured or proxied to send) and maps it onto
the contract's events (``schemas.calls``); a platform with another format needs another mapping like this
one, nothing else. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from plumbing.ids import uuid5
from schemas.calls import (QUEUE_PATTERN, CallAbandoned, CallAbandonedData, CallAnswered, CallAnsweredData,
                           CallEnded, CallEndedData, CallOffered, CallOfferedData, CallTransferred,
                           CallTransferredData)
from schemas.contacts import REFERENCE_PATTERN, PartyRef
from schemas.envelope import CloudEvent, Frozen
from schemas.intake import PartyIdentifiers, Rfc3339, present
from services.intake.domain import pseudonym_only
from services.intake.exceptions import InvalidIdentifier
from services.intake.idempotency import fingerprint

#: Call ids and CTI event ids map to the same contact and event ids every time.
CTI_NAMESPACE = uuid.UUID("6a1f0c52-8d3e-4b7a-a2f9-3c5e7d9b1f04")


class CtiType(StrEnum):
    QUEUED = "queued"
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred"
    ENDED = "ended"


#: Which fields each report type needs, beyond those every report has.
NEEDS: dict[CtiType, tuple[str, ...]] = {
    CtiType.QUEUED: (),
    CtiType.ANSWERED: ("wait",),
    CtiType.ABANDONED: ("wait",),
    CtiType.TRANSFERRED: ("target",),
    CtiType.ENDED: ("talk",),
}


#: What the validators enforce across fields, in JSON Schema 2020-12 (as OAS 3.1 takes it), and an example.
_REPORT_RULES: dict[str, Any] = {
    "examples": [{"id": "evt-000123", "type": "answered", "call": "call-7781", "queue": "kcc-algemeen",
                  "at": "2026-12-02T09:30:18+01:00", "agent": "agent-12", "wait": 18.5}],
    "allOf": [
        *({"description": f"{kind.capitalize()} reports need {', '.join(fields)}.",
           "if": {"required": ["type"], "properties": {"type": {"const": kind.value}}},
           "then": {"allOf": [present(name) for name in fields]}}
          for kind, fields in NEEDS.items() if fields),
        {"description": "caller is given in the queued report only.",
         "if": present("caller"), "then": {"properties": {"type": {"const": CtiType.QUEUED.value}}}},
    ],
}
_TARGET_RULES: dict[str, Any] = {
    "description": "Give queue or organisation (one of them).",
    "oneOf": [present("queue"), present("organisation")],
}


class CtiTarget(Frozen):
    """Where a call was put through: a queue of this organisation, or another organisation."""

    model_config = ConfigDict(json_schema_extra=_TARGET_RULES)

    queue: str | None = Field(None, pattern=QUEUE_PATTERN, description="A queue of this organisation.")
    organisation: str | None = Field(None, min_length=1, max_length=200, description="Another organisation.")

    @model_validator(mode="after")
    def _one(self) -> "CtiTarget":
        if (self.queue is None) == (self.organisation is None):
            raise ValueError("give queue or organisation (one of them)")
        return self


class CtiReport(Frozen):
    """One report of a telephony platform about a call, in the generic CTI format."""

    model_config = ConfigDict(json_schema_extra=_REPORT_RULES)

    id: str = Field(pattern=REFERENCE_PATTERN,
                    description="The platform's own id of this report: a report sent again "
                    "with the same id is the same report (no second event).")
    type: CtiType = Field(description="What happened: queued (offered to a queue), answered, abandoned (the caller "
                          "hung up while waiting), transferred, ended.")
    call: str = Field(pattern=REFERENCE_PATTERN,
                      description="The platform's id of the call; the same in all its reports.")
    queue: str = Field(pattern=QUEUE_PATTERN, description="The queue the call is in (or was, when it ended).")
    at: Rfc3339 = Field(description="When it happened (RFC 3339, with offset).")
    caller: str | None = Field(None, pattern=r"^\+?[0-9 ()-]{6,20}$",
                               description="The caller's number when shown (queued only); pseudonymised at once.")
    agent: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$", description="The agent's login (answered).")
    wait: float | None = Field(None, strict=True, ge=0, le=86400,
                               description="Seconds in the queue (answered, abandoned).")
    target: CtiTarget | None = Field(None, description="Where the call went (transferred).")
    talk: float | None = Field(None, strict=True, ge=0, le=86400, description="Seconds of conversation (ended).")
    wrapup: float | None = Field(None, strict=True, ge=0, le=86400, description="Seconds of after-call work (ended).")

    @model_validator(mode="after")
    def _complete(self) -> "CtiReport":
        missing = [name for name in NEEDS[self.type] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"{self.type} reports need {', '.join(missing)}")
        if self.caller is not None and self.type is not CtiType.QUEUED:
            raise ValueError("caller is given in the queued report only")
        return self


def contact_id(report: CtiReport) -> str:
    """The call's contact id: the same for every report of the call, and nothing of the platform's id in it."""
    return uuid5(CTI_NAMESPACE, f"call\n{report.call}")


def event_id(report: CtiReport) -> str:
    """The event's id: the same for the same report sent again."""
    return uuid5(CTI_NAMESPACE, f"report\n{report.id}\n{fingerprint(report)}")


def to_event(report: CtiReport, *, secret: bytes, source: str, now: dt.datetime) -> CloudEvent:
    """The contract's event for a CTI report. A caller's number becomes the party's pseudonym."""
    common: dict[str, Any] = {"contact_id": contact_id(report), "call_reference": report.call, "queue": report.queue}
    event: CloudEvent
    match report.type:
        case CtiType.QUEUED:
            party = _caller(report.caller, secret)
            event = CallOffered.create(source=source, data=CallOfferedData(**common, offered_at=report.at, party=party),
                                       subject=common["contact_id"], time=now, id=event_id(report))
        case CtiType.ANSWERED:
            event = CallAnswered.create(
                source=source, subject=common["contact_id"], time=now, id=event_id(report),
                data=CallAnsweredData(**common, answered_at=report.at, wait_seconds=report.wait, agent=report.agent))
        case CtiType.ABANDONED:
            event = CallAbandoned.create(
                source=source, subject=common["contact_id"], time=now, id=event_id(report),
                data=CallAbandonedData(**common, abandoned_at=report.at, wait_seconds=report.wait))
        case CtiType.TRANSFERRED:
            assert report.target is not None  # the validator saw to it
            event = CallTransferred.create(
                source=source, subject=common["contact_id"], time=now, id=event_id(report),
                data=CallTransferredData(**common, transferred_at=report.at, to_queue=report.target.queue,
                                         to_organisation=report.target.organisation))
        case CtiType.ENDED:
            event = CallEnded.create(
                source=source, subject=common["contact_id"], time=now, id=event_id(report),
                data=CallEndedData(**common, ended_at=report.at, talk_seconds=report.talk,
                                   wrap_up_seconds=report.wrapup or 0))
    return event


def _caller(number: str | None, secret: bytes) -> PartyRef | None:
    try:
        return pseudonym_only(PartyIdentifiers(phone=number), secret) if number else None
    except InvalidIdentifier as exc:  # the report's field is "caller", not a question's "party.phone"
        raise InvalidIdentifier("caller", exc.reason) from None
