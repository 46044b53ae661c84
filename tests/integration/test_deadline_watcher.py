"""The deadline watcher on the real PostgreSQL: each level of each clock announced exactly once, across
restarts and beside a second watcher, never for a suspended or resolved case."""

import asyncio
import collections
import datetime as dt

import asyncpg
import pytest

from schemas.cases import DEADLINE_EVENTS, DeadlineBreached
from services.case.deadlines import DEFAULT_LEVELS
from services.case.domain import open_case as new_case
from services.case.metrics import Departments
from services.case.store import PgCaseStore
from services.case.watcher import DeadlineWatcher
from tests.builders import NOW, SOURCE, open_case

pytestmark = pytest.mark.integration
D = dt.date
DEADLINE_TYPES = {event.event_type() for event in DEADLINE_EVENTS.values()}
CASES = 30


@pytest.fixture
async def pool(case_settings):
    pool = await asyncpg.create_pool(case_settings.database_url.get_secret_value(), min_size=1, max_size=4)
    yield pool
    await pool.close()


def complaint(case_id: str):
    """A complaint asked on Monday 19 April 2027: ten working days promised, six weeks by Awb art. 9:11."""
    return open_case(case_id, asked_on=D(2027, 4, 19), norm_working_days=10, legal_term_weeks=6,
                     legal_basis="Awb art. 9:11", due_date=D(2027, 5, 4), legal_deadline=D(2027, 5, 31))


def watcher(pool, today: dt.date, batch: int = 500) -> DeadlineWatcher:
    return DeadlineWatcher(pool, source=SOURCE, levels=DEFAULT_LEVELS, departments=Departments(["openbare-ruimte"]),
                           today=lambda: today, batch=batch)


async def announced(pool) -> collections.Counter:
    rows = await pool.fetch("SELECT message_key, payload::jsonb ->> 'id' AS id FROM outbox WHERE event_type = ANY($1)",
                            list(DEADLINE_TYPES))
    return collections.Counter(r["id"] for r in rows)


async def test_every_level_is_announced_once_across_restarts_and_beside_a_second_watcher(pool):
    ids = [f"z-{n}" for n in range(CASES)]
    await PgCaseStore(pool).add_all([new_case(complaint(case_id), source=SOURCE, now=NOW) for case_id in ids])
    await pool.execute("UPDATE cases SET suspended_on = '2027-04-22' WHERE case_id = 'z-0'")
    await pool.execute("UPDATE cases SET status = 'resolved' WHERE case_id = 'z-1'")
    active = ids[2:]

    # Friday 30 April: the service norm's warnings. A watcher that did one batch of 7 and then stopped ...
    assert await watcher(pool, D(2027, 4, 30), batch=7).announce_due() == 7
    # ... and, restarted, two at once: each finds what the other has not locked or announced.
    first, second = watcher(pool, D(2027, 4, 30), batch=5), watcher(pool, D(2027, 4, 30), batch=5)
    while sum(await asyncio.gather(first.announce_due(), second.announce_due())):
        pass
    seen = await announced(pool)
    assert set(seen) == {f"{c}:service-warning" for c in active} and set(seen.values()) == {1}

    # 21 June: every level of both clocks has come; announcing again finds nothing new.
    late = watcher(pool, D(2027, 6, 21))
    while await late.announce_due():
        pass
    assert await watcher(pool, D(2027, 6, 21)).announce_due() == 0
    seen = await announced(pool)
    assert set(seen.values()) == {1}, [k for k, n in seen.items() if n > 1]
    assert set(seen) == {f"{c}:{clock}-{level}" for c in active for clock in ("service", "legal")
                         for level in DEFAULT_LEVELS}


async def test_a_level_is_announced_with_its_clock_and_due_date_and_not_before_its_day(pool):
    await PgCaseStore(pool).add_all([new_case(complaint("z-1"), source=SOURCE, now=NOW)])
    assert await watcher(pool, D(2027, 5, 3)).announce_due() == 1  # the service warning of 30 April only
    assert await watcher(pool, D(2027, 5, 4)).announce_due() == 1  # breached on its due date
    row = await pool.fetchrow("SELECT topic, message_key, payload FROM outbox WHERE event_type = $1",
                              DeadlineBreached.event_type())
    breached = DeadlineBreached.model_validate_json(row["payload"]).data
    assert (row["topic"], row["message_key"]) == ("loket.case-events.v1", "z-1")
    assert (breached.clock, breached.due_date, breached.reached_on, breached.share) == (
        "service", D(2027, 5, 4), D(2027, 5, 4), 1.0)
