"""Every metric of the case service. Labels come from closed sets only: the organisation file's departments
(anything else counts as ``other``), the statuses, the event types of the case topics, the clocks and levels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import asyncpg
from prometheus_client import Counter, Gauge

from schemas.topics import BACKOFFICE, CASE_EVENTS
from services.case.store import acquired

OPEN_STATUSES = ("registered", "in_progress", "suspended")
EVENT_TYPES = frozenset(e.event_type() for topic in (CASE_EVENTS, BACKOFFICE) for e in topic.events)
OTHER = "other"

CASES_OPEN = Gauge("loket_cases_open", "Cases not resolved, by department and status (a suspended case counts as "
                   "suspended, whatever its status).", ["department", "status"])
CASES_OVERDUE = Gauge("loket_cases_overdue", "Cases not resolved past their service due date, by department.",
                      ["department"])
OUTBOX_WAITING = Gauge("loket_case_outbox_waiting", "Case events in the outbox, not yet published.")
EVENTS_PUBLISHED = Counter("loket_case_events_published", "Case events the outbox relay published, by type (a "
                           "relay stopped between publishing and marking publishes again).", ["type"])
CASE_BREACHES = Counter("loket_case_breaches", "Cases that passed a due date unresolved, by department and clock "
                        "(service: the service norm's due date; legal: the legal term, e.g. Awb 9:11).",
                        ["department", "clock"])
DEADLINE_LEVELS = Counter("loket_case_deadline_levels", "Deadline levels announced, by department, clock (service "
                          "norm or legal term) and level.", ["department", "clock", "level"])


class Departments:
    """The closed set of department labels."""

    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = frozenset(codes)

    def __call__(self, code: str) -> str:
        return code if code in self.codes else OTHER


def event_type(name: str | None) -> str:
    return name if name in EVENT_TYPES else OTHER


_OPEN = """
SELECT department, CASE WHEN suspended_on IS NOT NULL THEN 'suspended' ELSE status END AS status, count(*) AS n,
       count(*) FILTER (WHERE service_due < $1) AS overdue
FROM cases WHERE status <> 'resolved' GROUP BY 1, 2
"""


async def refresh(pool: asyncpg.Pool, departments: Departments, today: dt.date) -> None:
    """Set the gauges from PostgreSQL: what is open, overdue and waiting now, whichever process changed it."""
    async with acquired(pool) as conn:
        rows = await conn.fetch(_OPEN, today)
        waiting = await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    open_ = {(d, s): 0 for d in (*departments.codes, OTHER) for s in OPEN_STATUSES}
    overdue = dict.fromkeys((*departments.codes, OTHER), 0)
    for row in rows:
        department = departments(row["department"])
        open_[department, row["status"]] += row["n"]
        overdue[department] += row["overdue"]
    for (department, status), n in open_.items():
        CASES_OPEN.labels(department=department, status=status).set(n)
    for department, n in overdue.items():
        CASES_OVERDUE.labels(department=department).set(n)
    OUTBOX_WAITING.set(waiting)
