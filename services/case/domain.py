"""Case rules, pure: a new case from a request, and the event that announces it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from schemas import CaseOpened, CaseOpenedData, OpenCase
from schemas.topics import CASE_EVENTS, TopicSpec


@dataclass(frozen=True)
class OutboxMessage:
    """An event to publish once the transaction that made it has committed."""

    topic: TopicSpec
    key: str
    payload: bytes


@dataclass(frozen=True)
class NewCase:
    """A case to insert, and what announces it."""

    request: OpenCase
    opened_at: dt.datetime
    announcements: tuple[OutboxMessage, ...]


def open_case(request: OpenCase, *, source: str, now: dt.datetime) -> NewCase:
    """A new case (status 'registered') from a request; announced on the case events topic."""
    data = request.data
    opened = CaseOpened.create(
        source=source,
        subject=data.case_id,
        time=now,
        id=f"{data.case_id}:opened",
        data=CaseOpenedData(
            case_id=data.case_id,
            request_id=request.id,
            case_type=data.case_type,
            department=data.department,
            subject_code=data.subject_code,
            due_date=data.due_date,
            party_pseudonym=data.party.pseudonym if data.party else None,
            opened_at=now,
        ),
    )
    return NewCase(request, now, (OutboxMessage(CASE_EVENTS, data.case_id, opened.to_bytes()),))
