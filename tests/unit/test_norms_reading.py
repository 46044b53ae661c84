"""The norms' reading beyond the book: every event on the contacts stream counted once by channel and type, the
waits in their histogram, the staffing advice from the calls read, and dead letters counted by topic and why."""

from __future__ import annotations

import datetime as dt

from prometheus_client import REGISTRY

from plumbing.deadletters import guarded
from plumbing.organisation import load_organisation
from schemas.calls import CallAnswered, CallEnded, CallOffered
from schemas.counter import TicketCalled
from services.norms.reading import Reading
from tests.builders import NOW, SOURCE, event
from tests.fakes import record


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def answered(n: int, wait: float, at: dt.datetime = NOW) -> CallAnswered:
    return event(CallAnswered, f"r-{n}:a", contact_id=f"r-{n}", call_reference=f"r-{n}", queue="kcc",
                 wait_seconds=wait, answered_at=at)


def test_each_contact_event_counts_once_by_channel_and_type_and_its_wait_is_observed():
    reading = Reading(load_organisation())
    before = (sample("loket_contacts_total", channel="phone", type="call-answered"),
              sample("loket_contacts_total", channel="counter", type="ticket-called"),
              sample("loket_wait_seconds_count", channel="phone"), sample("loket_wait_seconds_sum", channel="phone"),
              sample("loket_wait_seconds_bucket", channel="counter", le="300.0"))
    call = answered(1, 12.0)
    ticket = event(TicketCalled, "t-1:c", contact_id="t-1", visit_reference="T-1", queue="balie", called_at=NOW, wait_seconds=240.0)
    for e in (call, call, ticket):  # the call's event twice: one event
        reading.take(e)

    after = (sample("loket_contacts_total", channel="phone", type="call-answered"),
             sample("loket_contacts_total", channel="counter", type="ticket-called"),
             sample("loket_wait_seconds_count", channel="phone"), sample("loket_wait_seconds_sum", channel="phone"),
             sample("loket_wait_seconds_bucket", channel="counter", le="300.0"))
    assert [a - b for a, b in zip(after, before)] == [1, 1, 1, 12.0, 1]


def test_staffing_follows_the_calls_read_with_the_phone_norms_threshold_and_target():
    reading = Reading(load_organisation())
    assert reading.staffing(NOW).now is None  # no call ended yet: no handle time to work from
    for n in range(100):  # 100 calls in the last half hour, 180 s each: the worked example
        offered = NOW - dt.timedelta(minutes=30) + dt.timedelta(seconds=18 * n)
        reading.take(event(CallOffered, f"s-{n}:o", contact_id=f"s-{n}", call_reference=f"s-{n}", queue="kcc",
                           offered_at=offered))
        reading.take(event(CallEnded, f"s-{n}:e", contact_id=f"s-{n}", call_reference=f"s-{n}", queue="kcc",
                           ended_at=NOW - dt.timedelta(seconds=1), talk_seconds=150.0, wrap_up_seconds=30.0))

    staffing = reading.staffing(NOW)

    assert (staffing.norm, staffing.threshold_seconds, staffing.target) == ("telefoon-opgenomen", 25.0, 0.8)
    assert staffing.handle_seconds == 180.0 and staffing.now.calls_per_hour == 200.0
    assert staffing.now.service_level >= 0.8 and staffing.now.agents == 13  # 12 would answer fewer in time


def test_a_dead_letter_is_counted_by_its_topic_and_why():
    def broken(record):
        raise RuntimeError("a bug")

    before = sample("loket_dead_letters_total", topic="contacts", reason="failed")
    [letter] = guarded(broken, record(0, 7, value=b"{}", topic="contacts"), dead_letters="dl", source=SOURCE,
                       consumer="norms")
    assert letter.topic == "dl"
    assert sample("loket_dead_letters_total", topic="contacts", reason="failed") - before == 1


def test_no_staffing_advice_from_calls_that_took_no_time_and_metrics_still_answer():
    from prometheus_client import CollectorRegistry, generate_latest

    from services.norms.metrics import StaffingCollector

    reading = Reading(load_organisation())
    reading.take(event(CallOffered, "z-1:o", contact_id="z-1", call_reference="z-1", queue="kcc", offered_at=NOW))
    reading.take(event(CallEnded, "z-1:e", contact_id="z-1", call_reference="z-1", queue="kcc",
                       ended_at=NOW + dt.timedelta(seconds=1), talk_seconds=0.0))
    advice = reading.staffing(NOW + dt.timedelta(minutes=1))
    assert advice.now is None and advice.handle_seconds is None
    registry = CollectorRegistry()
    registry.register(StaffingCollector(lambda: reading))
    assert b"loket_staffing_agents_needed" in generate_latest(registry)  # described, without a sample


def test_the_phone_load_keeps_only_what_the_forecast_needs():
    from services.norms.staffing import KEPT, TRIM_EVERY, PhoneLoad

    load = PhoneLoad()
    start = NOW - dt.timedelta(days=30)
    for n in range(TRIM_EVERY + 10):
        load.call_offered(start + dt.timedelta(minutes=n))
    latest = start + dt.timedelta(minutes=TRIM_EVERY + 9)
    # Trimmed once, when it reached TRIM_EVERY calls, to the last KEPT before the call then (10 minutes ago).
    assert load.offered[0] == latest - dt.timedelta(minutes=10) - KEPT and load.offered[-1] == latest
    assert load.watched_since == start  # the forecast still knows since when it watched


def test_a_phone_load_that_keeps_all_it_holds_is_trimmed_again_only_after_as_many_more_calls(monkeypatch):
    from services.norms.staffing import TRIM_EVERY, PhoneLoad

    load, trims = PhoneLoad(), []
    forget = load.forget_before
    monkeypatch.setattr(load, "forget_before", lambda moment: (trims.append(moment), forget(moment)))
    for n in range(TRIM_EVERY + 1_000):  # a second apart: all within the week the forecast keeps
        load.call_offered(NOW + dt.timedelta(seconds=n))
    assert len(trims) == 1 and len(load.offered) == TRIM_EVERY + 1_000  # once, at TRIM_EVERY calls; none forgotten
    assert load.trim_at == 2 * TRIM_EVERY
