"""Visits to the counter (balie) as the queue-ticketing and appointment systems see them, on
``loket.contacts.v1`` beside the questions.

A walk-in draws a ticket, is called to a desk (or does not come when called: a no-show) and is served. An
appointment is booked for a time, the party arrives, is called and is served. What the party asked is a
separate ``QuestionAsked`` (channel ``counter``), whose ``channel_reference`` is the ticket's or the
appointment's. These events are there for the counter norms: a walk-in's wait, an appointment's
punctuality. All events of one visit carry the same ``contact_id`` and travel under it as their key.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.calls import QUEUE_PATTERN
from schemas.contacts import REFERENCE_PATTERN, PartyRef
from schemas.envelope import CloudEvent, Frozen


class VisitData(Frozen):
    """What every event of a visit carries."""

    contact_id: str = Field(min_length=1, max_length=64,
                            description="Id of the visit as a contact, minted by Loket from the system's ticket or "
                            "appointment id: the same for every event of the visit. No personal data.")
    visit_reference: str = Field(pattern=REFERENCE_PATTERN,
                                 description="The ticket number or appointment id. In data only, never a key.")
    queue: str = Field(pattern=QUEUE_PATTERN, description="The product or queue of the visit (e.g. reisdocumenten).")


class TicketIssuedData(VisitData):
    issued_at: AwareDatetime = Field(description="When the walk-in drew the ticket: the wait starts here.")


class CalledData(VisitData):
    called_at: AwareDatetime = Field(description="When the party was called to a desk.")
    desk: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,32}$", description="The desk called to.")


class TicketCalledData(CalledData):
    wait_seconds: float = Field(ge=0, le=86400, description="From the ticket to the call.")


class ServedData(VisitData):
    served_at: AwareDatetime = Field(description="When the service at the desk ended.")
    service_seconds: float = Field(ge=0, le=86400, description="Time at the desk.")


class TicketNoShowData(VisitData):
    called_at: AwareDatetime = Field(description="When the party was called and did not come.")


class AppointmentBookedData(VisitData):
    booked_at: AwareDatetime = Field(description="When the appointment was made.")
    appointment_at: AwareDatetime = Field(description="The time booked: punctuality is measured against it.")
    party: PartyRef | None = Field(None, description="Who booked, pseudonymised (no personal data).")


class AppointmentArrivedData(VisitData):
    arrived_at: AwareDatetime = Field(description="When the party reported at the counter.")


class AppointmentCalledData(CalledData):
    appointment_at: AwareDatetime = Field(description="The time booked.")


class TicketIssued(CloudEvent[TicketIssuedData]):
    """A walk-in drew a queue ticket."""

    type: Literal["nl.loket.contacts.ticket-issued"]


class TicketCalled(CloudEvent[TicketCalledData]):
    """A walk-in was called to a desk."""

    type: Literal["nl.loket.contacts.ticket-called"]


class TicketServed(CloudEvent[ServedData]):
    """A walk-in was served."""

    type: Literal["nl.loket.contacts.ticket-served"]


class TicketNoShow(CloudEvent[TicketNoShowData]):
    """A walk-in did not come when called."""

    type: Literal["nl.loket.contacts.ticket-no-show"]


class AppointmentBooked(CloudEvent[AppointmentBookedData]):
    """An appointment at the counter was booked."""

    type: Literal["nl.loket.contacts.appointment-booked"]


class AppointmentArrived(CloudEvent[AppointmentArrivedData]):
    """A party with an appointment reported at the counter."""

    type: Literal["nl.loket.contacts.appointment-arrived"]


class AppointmentCalled(CloudEvent[AppointmentCalledData]):
    """A party with an appointment was called to a desk."""

    type: Literal["nl.loket.contacts.appointment-called"]


class AppointmentServed(CloudEvent[ServedData]):
    """A party with an appointment was served."""

    type: Literal["nl.loket.contacts.appointment-served"]


COUNTER_EVENTS: tuple[type[CloudEvent], ...] = (TicketIssued, TicketCalled, TicketServed, TicketNoShow,
                                                AppointmentBooked, AppointmentArrived, AppointmentCalled,
                                                AppointmentServed)
