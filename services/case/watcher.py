"""The deadline watcher: announces each case's deadline levels (warning, breached, escalated), exactly once per
case, clock and level.

Every case gets a row per clock and level when it is opened (``deadline_alarms``), with the day the level is
reached; suspension, resumption and extension move the days of the levels not yet announced. The watcher takes
the rows whose day has come, of cases neither resolved nor suspended, puts their events in the outbox and marks
them announced in one transaction (under row locks, ``SKIP LOCKED``): a watcher stopped or killed anywhere
announces nothing twice, and two watchers never the same level.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import asyncpg
import structlog

from plumbing.calendar import dutch_day
from plumbing.kafka import Outgoing
from schemas.cases import DEADLINE_EVENTS, DeadlineData
from schemas.topics import CASE_EVENTS
from services.case import metrics
from services.case.store import acquired, insert_outbox

log = structlog.get_logger(__name__)
#: Most levels announced per transaction.
WATCH_BATCH = 500

_DUE = """
SELECT a.case_id, a.clock, a.level, a.due_on, c.department, c.subject_code, c.assignee,
       CASE a.clock WHEN 'service' THEN c.service_due ELSE c.legal_due END AS clock_due
FROM deadline_alarms a JOIN cases c USING (case_id)
WHERE a.emitted_at IS NULL AND a.due_on <= $1 AND a.level = ANY($2::text[])
  AND c.status <> 'resolved' AND c.suspended_on IS NULL
ORDER BY a.due_on, a.case_id
LIMIT $3
FOR UPDATE OF a SKIP LOCKED
"""
_ANNOUNCED = """
UPDATE deadline_alarms SET emitted_at = $4
FROM unnest($1::text[], $2::text[], $3::text[]) AS t(case_id, clock, level)
WHERE deadline_alarms.case_id = t.case_id AND deadline_alarms.clock = t.clock AND deadline_alarms.level = t.level
"""


class DeadlineWatcher:
    """Announces the levels whose day has come; ``today`` is the clock it goes by (the Dutch calendar day)."""

    def __init__(self, pool: asyncpg.Pool, *, source: str, levels: Mapping[str, float],
                 departments: metrics.Departments, today: Callable[[], dt.date] = dutch_day,
                 batch: int = WATCH_BATCH) -> None:
        self._pool = pool
        self._departments = departments
        self.batch = batch
        self._source = source
        self._levels = dict(levels)
        self._today = today

    async def announce_due(self) -> int:
        """Announce up to one batch of levels reached; returns how many."""
        now = dt.datetime.now(dt.timezone.utc)
        async with acquired(self._pool) as conn, conn.transaction():
            rows = await conn.fetch(_DUE, self._today(), list(self._levels), self.batch)
            if not rows:
                return 0
            await insert_outbox(conn, [self._message(row, now) for row in rows])
            await conn.execute(_ANNOUNCED, [r["case_id"] for r in rows], [r["clock"] for r in rows],
                               [r["level"] for r in rows], now)
        for row in rows:
            department = self._departments(row["department"])
            metrics.DEADLINE_LEVELS.labels(department=department, clock=row["clock"], level=row["level"]).inc()
            if row["level"] == "breached":
                metrics.CASE_BREACHES.labels(department=department, clock=row["clock"]).inc()
        log.info("deadline_levels_announced", count=len(rows))
        return len(rows)

    def _message(self, row: asyncpg.Record, now: dt.datetime) -> Outgoing:
        case_id, clock, level = row["case_id"], row["clock"], row["level"]
        event = DEADLINE_EVENTS[level].create(
            source=self._source, subject=case_id, time=now, id=f"{case_id}:{clock}-{level}",
            data=DeadlineData(case_id=case_id, department=row["department"], subject_code=row["subject_code"],
                              clock=clock, level=level, share=self._levels[level], due_date=row["clock_due"],
                              reached_on=row["due_on"], assignee=row["assignee"]))
        return Outgoing.of(CASE_EVENTS, case_id, event)
