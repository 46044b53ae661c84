"""The case service's use cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Protocol

from plumbing.calendar import TermCalendar
from schemas import OpenCase, RoutingDecided
from services.case import domain
from services.case.deadlines import DEFAULT_LEVELS
from services.case.domain import NewCase
from services.case.store import Contact, Stored


class CaseStore(Protocol):
    async def add_all(self, cases: Sequence[NewCase]) -> Stored: ...

    async def add_contacts(self, contacts: Sequence[Contact]) -> int: ...


async def open_cases(requests: Sequence[OpenCase], *, store: CaseStore, source: str, now: dt.datetime,
                     calendar: TermCalendar = TermCalendar(), levels: Mapping[str, float] = DEFAULT_LEVELS) -> Stored:
    """Store the cases a batch of requests asks for, at once; a request stored before (a redelivery) has no
    second effect."""
    return await store.add_all([domain.open_case(request, source=source, now=now, calendar=calendar, levels=levels)
                                for request in requests])


def contact(decision: RoutingDecided) -> Contact:
    """The contact history's row of one routing decision."""
    d = decision.data
    return Contact(question_id=d.question_id, contact_id=d.contact_id, party_pseudonym=d.party_pseudonym,
                   channel=d.channel.value, subject_code=d.subject_code, outcome=d.outcome.value, rule=d.rule.value,
                   case_id=d.case_id, department=d.department, decided_at=d.decided_at)


async def record_contacts(decisions: Sequence[RoutingDecided], *, store: CaseStore) -> int:
    """Add decided contacts to the parties' contact histories; a decision recorded before is left out."""
    return await store.add_contacts([contact(d) for d in decisions])
