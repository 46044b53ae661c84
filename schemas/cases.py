"""Cases (zaken): the request to open one (``loket.case-requests.v1``) and its announcement
(``loket.case-events.v1``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.contacts import Channel, PartyRef
from schemas.envelope import CloudEvent, Frozen, Text


class OpenCaseData(Frozen):
    """What the back office needs to start a case (zaak)."""

    case_id: str = Field(description="Case id, minted by the router so later questions can link to it.")
    question_id: str = Field(description="Event id of the question that led to the case.")
    contact_id: str = Field(description="Id of the contact.")
    channel: Channel = Field(description="Channel of the first contact.")
    subject_code: str = Field(description="Onderwerp (subject) code.")
    case_type: str = Field(description="Zaaktype (case type) code.")
    department: str = Field(description="Afdeling (department) that handles the case.")
    due_date: dt.date = Field(description="Date the case must be resolved by, per the service norm.")
    legal_deadline: dt.date | None = Field(None, description="Last day of the legal term (doorlooptijd), if any.")
    legal_basis: str | None = Field(None, description="Where the legal term comes from, e.g. 'Awb art. 9:11'.")
    priority: Literal["normal", "high"] = Field("normal", description="Handling priority.")
    question: Text | None = Field(None, max_length=4000, description="The question in the party's words.")
    party: PartyRef | None = Field(None, description="Who asked, with personal data for the work.")
    requested_at: AwareDatetime = Field(
        description="The instant the router asked for the case: that of its decision (the question's own time)."
    )


class OpenCase(CloudEvent[OpenCaseData]):
    """Command to the case service: open this case (zaak).

    ``time``: the instant the router asked for the case, ``data.requested_at``: that of its decision.
    """

    type: Literal["nl.loket.cases.open-case"]


class CaseOpenedData(Frozen):
    """A case exists now. No personal data: many consumers read case events."""

    case_id: str = Field(description="Case id.")
    request_id: str = Field(description="Event id of the OpenCase command.")
    case_type: str = Field(description="Zaaktype (case type) code.")
    department: str = Field(description="Afdeling (department).")
    subject_code: str = Field(description="Onderwerp (subject) code.")
    status: Literal["registered"] = Field("registered", description="Status of a new case.")
    due_date: dt.date = Field(description="Due date per the service norm.")
    party_pseudonym: str | None = Field(None, description="Pseudonym of the party.")
    opened_at: AwareDatetime = Field(description="When the case was stored.")


class CaseOpened(CloudEvent[CaseOpenedData]):
    """The case service stored a new case.

    ``time``: when the case was stored, the same instant as ``data.opened_at``.
    """

    type: Literal["nl.loket.cases.case-opened"]


class CaseResolvedData(Frozen):
    """A case is done. No personal data."""

    case_id: str = Field(description="Case id.")
    subject_code: str = Field(description="Onderwerp (subject) code.")
    department: str = Field(description="Afdeling (department).")
    party_pseudonym: str | None = Field(None, description="Pseudonym of the party.")
    resolved_at: AwareDatetime = Field(description="When the case was resolved.")


class CaseResolved(CloudEvent[CaseResolvedData]):
    """A back-office worker resolved a case.

    ``time``: when the case was resolved, the same instant as ``data.resolved_at``.
    """

    type: Literal["nl.loket.cases.case-resolved"]
