"""The case service's use cases."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from schemas import OpenCase
from services.case import domain
from services.case.domain import NewCase
from services.case.exceptions import DuplicateCase


class CaseStore(Protocol):
    async def add(self, case: NewCase) -> None: ...


async def open_case(request: OpenCase, *, store: CaseStore, source: str, now: dt.datetime) -> bool:
    """Store the case a request asks for; False when it was stored already (a redelivery)."""
    try:
        await store.add(domain.open_case(request, source=source, now=now))
    except DuplicateCase:
        return False
    return True
