"""A queue-ticketing or appointment system's reports of counter visits, in a generic format, and their mapping
onto Loket's counter events (``schemas.counter``).

As for the telephony platform (``services.intake.cti``), each vendor's own format needs a mapping like this
one, or a proxy into this format; nothing else in Loket changes. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from plumbing.calendar import dutch_day
from plumbing.ids import uuid5
from schemas.calls import QUEUE_PATTERN
from schemas.contacts import REFERENCE_PATTERN
from schemas.counter import (AppointmentArrived, AppointmentArrivedData, AppointmentBooked, AppointmentBookedData,
                             AppointmentCalled, AppointmentCalledData, AppointmentServed, ServedData, TicketCalled,
                             TicketCalledData, TicketIssued, TicketIssuedData, TicketNoShow, TicketNoShowData,
                             TicketServed)
from schemas.envelope import CloudEvent, Frozen
from schemas.intake import PartyIdentifiers, Rfc3339, present
from services.intake.domain import pseudonym_only
from services.intake.idempotency import fingerprint

#: Ticket and appointment ids, and report ids, map to the same contact and event ids every time.
COUNTER_NAMESPACE = uuid.UUID("b3e8d1a4-5c2f-4e6b-9a7d-0f1e2c3b4a59")


class CounterType(StrEnum):
    ISSUED = "issued"
    BOOKED = "booked"
    ARRIVED = "arrived"
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no_show"


#: What each kind of visit reports, and the fields each of its report types needs beyond the common ones.
NEEDS: dict[tuple[str, CounterType], tuple[str, ...]] = {
    ("ticket", CounterType.ISSUED): (),
    ("ticket", CounterType.CALLED): ("wait",),
    ("ticket", CounterType.SERVED): ("service",),
    ("ticket", CounterType.NO_SHOW): (),
    ("appointment", CounterType.BOOKED): ("slot",),
    ("appointment", CounterType.ARRIVED): (),
    ("appointment", CounterType.CALLED): ("slot",),
    ("appointment", CounterType.SERVED): ("service",),
}
KINDS = ("ticket", "appointment")


def _rules() -> dict[str, Any]:
    """The validator's rules across fields, in JSON Schema (as OAS 3.1 takes it), from ``NEEDS``."""
    rules: list[dict[str, Any]] = [{"description": "Give ticket or appointment (one of them).",
                                    "oneOf": [present(kind) for kind in KINDS]}]
    for kind in KINDS:
        types = [t.value for k, t in NEEDS if k == kind]
        rules.append({"description": f"A {kind}'s report is one of: {', '.join(types)}.",
                      "if": present(kind), "then": {"properties": {"type": {"enum": types}}}})
    for (kind, type_), fields in NEEDS.items():
        if fields:
            rules.append({"description": f"A {kind}'s {type_} report needs {', '.join(fields)}.",
                          "if": {"allOf": [present(kind), {"required": ["type"],
                                                           "properties": {"type": {"const": type_.value}}}]},
                          "then": {"allOf": [present(field) for field in fields]}})
    rules.append({"description": "party is given in the booked report only.", "if": present("party"),
                  "then": {"properties": {"type": {"const": CounterType.BOOKED.value}}}})
    return {"allOf": rules, "examples": [{"id": "q-000912", "type": "called", "ticket": "B-014",
                                          "queue": "reisdocumenten", "at": "2026-12-02T10:12:00+01:00",
                                          "desk": "3", "wait": 420}]}


class CounterReport(Frozen):
    """One report of a queue-ticketing or appointment system about a counter visit, in the generic format."""

    model_config = ConfigDict(json_schema_extra=_rules())

    id: str = Field(pattern=REFERENCE_PATTERN, description="The system's own id of this report: a report sent again "
                    "with the same id is the same report (no second event).")
    type: CounterType = Field(description="What happened. A ticket: issued, called, served, no_show. An "
                              "appointment: booked, arrived, called, served.")
    ticket: str | None = Field(None, pattern=REFERENCE_PATTERN, description="The walk-in's ticket number.")
    appointment: str | None = Field(None, pattern=REFERENCE_PATTERN, description="The appointment's id.")
    queue: str = Field(pattern=QUEUE_PATTERN, description="The product or queue of the visit.")
    at: Rfc3339 = Field(description="When it happened (RFC 3339, with offset).")
    slot: Rfc3339 | None = Field(None, description="The time booked (an appointment's booked and called).")
    desk: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,32}$", description="The desk called to (called).")
    wait: float | None = Field(None, strict=True, ge=0, le=86400,
                               description="Seconds from the ticket to the call (a ticket's called).")
    service: float | None = Field(None, strict=True, ge=0, le=86400, description="Seconds at the desk (served).")
    party: PartyIdentifiers | None = Field(None, description="Who booked (booked only); pseudonymised at once.")

    @model_validator(mode="after")
    def _complete(self) -> "CounterReport":
        if (self.ticket is None) == (self.appointment is None):
            raise ValueError("give ticket or appointment (one of them)")
        needs = NEEDS.get((self.kind, self.type))
        if needs is None:
            raise ValueError(f"an {self.kind} has no {self.type} report" if self.kind == "appointment"
                             else f"a {self.kind} has no {self.type} report")
        missing = [name for name in needs if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind}'s {self.type} report needs {', '.join(missing)}")
        if self.party is not None and self.type is not CounterType.BOOKED:
            raise ValueError("party is given in the booked report only")
        return self

    @property
    def kind(self) -> str:
        return "ticket" if self.ticket is not None else "appointment"

    @property
    def reference(self) -> str:
        return self.ticket or self.appointment or ""


def contact_id(report: CounterReport) -> str:
    """The visit's contact id: the same for every report of the ticket or appointment. Ticket numbers start
    again every day (and per queue), so a ticket's visit is its number on that day in that queue; an
    appointment's id is the system's own, booked days ahead."""
    if report.ticket is not None:
        return uuid5(COUNTER_NAMESPACE, f"ticket\n{report.queue}\n{dutch_day(report.at)}\n{report.ticket}")
    return uuid5(COUNTER_NAMESPACE, f"appointment\n{report.reference}")


def event_id(report: CounterReport) -> str:
    return uuid5(COUNTER_NAMESPACE, f"report\n{report.id}\n{fingerprint(report)}")


def to_event(report: CounterReport, *, secret: bytes, source: str, now: dt.datetime) -> CloudEvent:
    """The contract's event for a counter report. Who booked becomes a pseudonym, nothing more."""
    common: dict[str, Any] = {"contact_id": contact_id(report), "visit_reference": report.reference,
                              "queue": report.queue}
    event: type[CloudEvent]
    data: Frozen
    match (report.kind, report.type):
        case ("ticket", CounterType.ISSUED):
            event, data = TicketIssued, TicketIssuedData(**common, issued_at=report.at)
        case ("ticket", CounterType.CALLED):
            event, data = TicketCalled, TicketCalledData(**common, called_at=report.at, desk=report.desk,
                                                         wait_seconds=report.wait)
        case ("ticket", CounterType.SERVED):
            event, data = TicketServed, ServedData(**common, served_at=report.at, service_seconds=report.service)
        case ("ticket", CounterType.NO_SHOW):
            event, data = TicketNoShow, TicketNoShowData(**common, called_at=report.at)
        case ("appointment", CounterType.BOOKED):
            event, data = AppointmentBooked, AppointmentBookedData(
                **common, booked_at=report.at, appointment_at=report.slot, party=pseudonym_only(report.party, secret))
        case ("appointment", CounterType.ARRIVED):
            event, data = AppointmentArrived, AppointmentArrivedData(**common, arrived_at=report.at)
        case ("appointment", CounterType.CALLED):
            event, data = AppointmentCalled, AppointmentCalledData(**common, called_at=report.at, desk=report.desk,
                                                                   appointment_at=report.slot)
        case _:  # ("appointment", SERVED): the validator let no other combination through
            event, data = AppointmentServed, ServedData(**common, served_at=report.at, service_seconds=report.service)
    return event.create(source=source, data=data, subject=common["contact_id"], time=now, id=event_id(report))
