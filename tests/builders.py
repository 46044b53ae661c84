"""Test data builders: valid events with sensible defaults."""

from __future__ import annotations

import datetime as dt

from schemas import DecisionData, OpenCase, OpenCaseData, RoutingDecided
from schemas.envelope import source_urn

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)
SOURCE = source_urn("00000001999999999000", "loket-tests")


def open_case(case_id: str = "case-1", request_id: str | None = None, **data: object) -> OpenCase:
    fields = dict(case_id=case_id, question_id=f"q-{case_id}", contact_id=f"c-{case_id}", channel="phone",
                  subject_code="grofvuil", case_type="ophalen-grofvuil", department="openbare-ruimte",
                  due_date=dt.date(2026, 12, 7), question="Mijn bankstel moet weg", requested_at=NOW)
    fields.update(data)
    return OpenCase.create(source=SOURCE, data=OpenCaseData(**fields), subject=case_id, time=NOW,
                           id=request_id or f"{case_id}:open-case")


def decision(question_id: str = "q-1", **data: object) -> RoutingDecided:
    """A routing decision: by default a phone question answered in the front office."""
    fields = dict(question_id=question_id, contact_id=f"c-{question_id}", channel="phone", subject_code="grofvuil",
                  outcome="answered", rule="front-office-answer", reason="Beantwoord.", decided_at=NOW)
    fields.update(data)
    return RoutingDecided.create(source=SOURCE, data=DecisionData(**fields), id=f"{question_id}:decision", time=NOW)
