"""In-memory fakes of the ports, for unit tests and for the store contract tests."""

from __future__ import annotations

from services.case.domain import NewCase
from services.case.exceptions import DuplicateCase
from services.case.store import StoredCase


class FakeCaseStore:
    """Behaves like PgCaseStore: a second request id or case id is a DuplicateCase."""

    def __init__(self) -> None:
        self.cases: dict[str, StoredCase] = {}
        self.outbox: list[tuple[str, str, bytes]] = []

    async def add(self, case: NewCase) -> None:
        data = case.request.data
        if data.case_id in self.cases or any(c.request_id == case.request.id for c in self.cases.values()):
            raise DuplicateCase(data.case_id)
        self.cases[data.case_id] = StoredCase(
            case_id=data.case_id, request_id=case.request.id, case_type=data.case_type, department=data.department,
            subject_code=data.subject_code, status="registered", due_date=data.due_date,
            party_pseudonym=data.party.pseudonym if data.party else None,
        )
        self.outbox.extend((m.topic.name, m.key, m.payload) for m in case.announcements)

    async def get(self, case_id: str) -> StoredCase | None:
        return self.cases.get(case_id)
