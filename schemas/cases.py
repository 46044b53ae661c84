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
    asked_on: dt.date | None = Field(
        None, description="The Dutch calendar day the question came in: both clocks start here.")
    norm_working_days: int | None = Field(None, ge=1, description="The service norm in working days, if any.")
    legal_term_weeks: int | None = Field(None, ge=1, description="The legal term in weeks, if any.")
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
    legal_due: dt.date | None = Field(None, description="Last day of the legal term, if any.")
    party_pseudonym: str | None = Field(None, description="Pseudonym of the party.")
    opened_at: AwareDatetime = Field(description="When the case was stored.")
    requested_at: AwareDatetime | None = Field(
        None, description="When the question behind it came in (the request's ``requested_at``): a callback's term "
        "runs from here. Null in events of earlier versions.")


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
    by: str | None = Field(None, description="Worker id of who resolved it.")


class CaseResolved(CloudEvent[CaseResolvedData]):
    """A back-office worker resolved a case.

    ``time``: when the case was resolved, the same instant as ``data.resolved_at``.
    """

    type: Literal["nl.loket.cases.case-resolved"]


class CaseChangedData(Frozen):
    """A case's state after a back-office worker changed it. No personal data: many consumers read case events."""

    case_id: str = Field(description="Case id.")
    department: str = Field(description="Afdeling (department) that holds the case now.")
    subject_code: str = Field(description="Onderwerp (subject) code.")
    status: Literal["registered", "in_progress", "resolved"] = Field(description="Status after the change.")
    suspended: bool = Field(False, description="Whether the case is suspended (opgeschort): neither clock runs.")
    assignee: str | None = Field(None, description="Worker id of who holds the case, if anyone.")
    due_date: dt.date = Field(description="Due date per the service norm, after the change.")
    legal_due: dt.date | None = Field(None, description="Last day of the legal term after the change, if any.")
    from_department: str | None = Field(None, description="For a transfer: the department it came from.")
    by: str = Field(description="Worker id of who made the change.")
    changed_at: AwareDatetime = Field(description="When the change was made.")


class CaseClaimed(CloudEvent[CaseChangedData]):
    """A worker took a case (in behandeling). ``time``: when, the same instant as ``data.changed_at``."""

    type: Literal["nl.loket.cases.case-claimed"]


class CaseReleased(CloudEvent[CaseChangedData]):
    """A worker gave a case back to the department's queue. ``time``: when (``data.changed_at``)."""

    type: Literal["nl.loket.cases.case-released"]


class CaseTransferred(CloudEvent[CaseChangedData]):
    """A case went to another department. ``time``: when (``data.changed_at``)."""

    type: Literal["nl.loket.cases.case-transferred"]


class CaseSuspended(CloudEvent[CaseChangedData]):
    """A case's clocks stopped (opschorting), e.g. waiting for the party. ``time``: when (``data.changed_at``)."""

    type: Literal["nl.loket.cases.case-suspended"]


class CaseResumed(CloudEvent[CaseChangedData]):
    """A suspended case's clocks run again, its due dates moved. ``time``: when (``data.changed_at``)."""

    type: Literal["nl.loket.cases.case-resumed"]


class CaseExtended(CloudEvent[CaseChangedData]):
    """A case's legal term was extended once (verdaging). ``time``: when (``data.changed_at``)."""

    type: Literal["nl.loket.cases.case-extended"]


class DeadlineData(Frozen):
    """A case reached a level of one of its clocks. No personal data."""

    case_id: str = Field(description="Case id.")
    department: str = Field(description="Afdeling (department) that holds the case.")
    subject_code: str = Field(description="Onderwerp (subject) code.")
    clock: Literal["service", "legal"] = Field(description="Which clock: the service norm or the legal term.")
    level: Literal["warning", "breached", "escalated"] = Field(description="The level reached.")
    share: float = Field(description="The share of the term at which the level is reached (1.0: the due date).")
    due_date: dt.date = Field(description="The clock's due date.")
    reached_on: dt.date = Field(description="The day the level was reached.")
    assignee: str | None = Field(None, description="Worker id of who holds the case, if anyone.")


class DeadlineWarning(CloudEvent[DeadlineData]):
    """Most of a case's term has passed (by default 80%). ``time``: when the watcher found it."""

    type: Literal["nl.loket.cases.deadline-warning"]


class DeadlineBreached(CloudEvent[DeadlineData]):
    """A case passed its due date unresolved. ``time``: when the watcher found it."""

    type: Literal["nl.loket.cases.deadline-breached"]


class DeadlineEscalated(CloudEvent[DeadlineData]):
    """A case is overdue by half its term again (by default). ``time``: when the watcher found it."""

    type: Literal["nl.loket.cases.deadline-escalated"]


class WorkItemData(Frozen):
    """A case for a department's work queue. No personal data: the worker opens the case for that."""

    case_id: str = Field(description="Case id.")
    case_type: str = Field(description="Zaaktype (case type) code.")
    department: str = Field(description="Afdeling (department) whose queue it is in.")
    subject_code: str = Field(description="Onderwerp (subject) code.")
    priority: Literal["normal", "high"] = Field(description="Handling priority.")
    due_date: dt.date = Field(description="Due date per the service norm.")
    legal_due: dt.date | None = Field(None, description="Last day of the legal term, if any.")
    why: Literal["opened", "transferred"] = Field(description="New case, or transferred from another department.")
    queued_at: AwareDatetime = Field(description="When it entered the queue.")


class WorkItem(CloudEvent[WorkItemData]):
    """A case entered a department's work queue. ``time``: when (``data.queued_at``)."""

    type: Literal["nl.loket.cases.work-item"]


#: Case events by the action that makes them (the history's ``action``).
CHANGE_EVENTS: dict[str, type[CloudEvent[CaseChangedData]]] = {
    "claimed": CaseClaimed, "released": CaseReleased, "transferred": CaseTransferred,
    "suspended": CaseSuspended, "resumed": CaseResumed, "extended": CaseExtended,
}
#: Deadline events by level.
DEADLINE_EVENTS: dict[str, type[CloudEvent[DeadlineData]]] = {
    "warning": DeadlineWarning, "breached": DeadlineBreached, "escalated": DeadlineEscalated,
}
