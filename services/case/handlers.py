"""The case service's use cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from schemas import OpenCase
from services.case import domain
from services.case.domain import NewCase
from services.case.store import Stored


class CaseStore(Protocol):
    async def add_all(self, cases: Sequence[NewCase]) -> Stored: ...


async def open_cases(requests: Sequence[OpenCase], *, store: CaseStore, source: str, now: dt.datetime) -> Stored:
    """Store the cases a batch of requests asks for, at once; a request stored before (a redelivery) has no
    second effect."""
    return await store.add_all([domain.open_case(request, source=source, now=now) for request in requests])
