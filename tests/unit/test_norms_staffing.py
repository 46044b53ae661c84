"""Erlang C staffing advice against hand-computed cases and the issue's check figures."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from services.norms.staffing import PhoneLoad, agents_needed, erlang_c, queue_figures

HALF_HOUR = 30 * 60


def test_the_issues_check_100_calls_per_half_hour_180_s_14_agents():
    figures = queue_figures(14, 100 / HALF_HOUR, 180, threshold_seconds=20)
    assert figures.traffic_erlangs == pytest.approx(10)
    assert figures.wait_probability == pytest.approx(0.1741, abs=5e-5)
    assert figures.service_level == pytest.approx(0.8884, abs=5e-5)
    assert figures.average_speed_of_answer_seconds == pytest.approx(7.84, abs=5e-3)
    assert figures.occupancy == pytest.approx(10 / 14)


def test_one_agent_is_the_single_server_queue():
    # M/M/1 with load 0.5: a caller waits half the time; ASA = rho / (mu - lambda) = 0.5 / (0.2 - 0.1) = 5 s.
    figures = queue_figures(1, 0.1, 5, threshold_seconds=10)
    assert figures.wait_probability == pytest.approx(0.5)
    assert figures.average_speed_of_answer_seconds == pytest.approx(5)
    assert figures.service_level == pytest.approx(1 - 0.5 * math.exp(-0.5 * 10 / 5))


def test_two_agents_by_the_textbook_formula():
    # C(2, A) = A^2 / (2 - A) / (1 + A + A^2 / (2 - A)) with A = 1: 1 / (1 + 1 + 1) = 1/3.
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_the_recursion_stays_exact_where_factorials_overflow():
    # 400 agents, 380 Erlang: 380**400 overflows a float; the textbook form in exact fractions does not.
    agents, traffic = 400, 380
    terms = [math.prod(range(1, k + 1)) for k in range(agents + 1)]
    top = traffic ** agents * agents / (terms[agents] * (agents - traffic))
    exact = top / (sum(traffic ** k / terms[k] for k in range(agents)) + top)
    assert erlang_c(agents, traffic) == pytest.approx(float(exact), rel=1e-9)


def test_too_few_agents_never_catch_up_and_no_calls_need_no_agents():
    swamped = queue_figures(10, 100 / HALF_HOUR, 180, threshold_seconds=20)
    assert (swamped.wait_probability, swamped.service_level, swamped.average_speed_of_answer_seconds) == (
        1.0, 0.0, math.inf)
    idle = agents_needed(0, 180, threshold_seconds=25, target=0.8)
    assert (idle.agents, idle.service_level) == (0, 1.0)


def test_the_fewest_agents_that_meet_the_target():
    # 80% within 20 s: 13 agents answer 79.6% in time (1 - 0.2853 * e^(-3 * 20 / 180)), so 14 it is, as the
    # published examples of this case say too.
    needed = agents_needed(100 / HALF_HOUR, 180, threshold_seconds=20, target=0.8)
    assert needed.agents == 14 and needed.service_level == pytest.approx(0.8884, abs=5e-5)
    assert queue_figures(13, 100 / HALF_HOUR, 180, 20).service_level == pytest.approx(0.7956, abs=5e-5)
    # Zeventerpen's phone norm, 80% within 25 s: 13 agents do (81.2%); twice the calls need more than twice the
    # traffic's worth of agents, but less than twice the agents (a larger queue pools better).
    assert agents_needed(100 / HALF_HOUR, 180, 25, 0.8).agents == 13
    assert 20 < agents_needed(200 / HALF_HOUR, 180, 25, 0.8).agents < 26


@pytest.mark.parametrize("bad", [dict(agents=-1), dict(calls_per_second=-0.1), dict(handle_seconds=0)])
def test_impossible_inputs_are_refused(bad):
    arguments = dict(agents=5, calls_per_second=0.01, handle_seconds=180, threshold_seconds=20) | bad
    with pytest.raises(ValueError):
        queue_figures(**arguments)


NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)


def test_advice_now_from_the_last_half_hour_and_for_the_next_hour_from_the_days_before():
    load = PhoneLoad()
    for day, calls in ((3, 120), (2, 80), (1, 100)):  # the hour from 10:00 on each of the three days before
        start = NOW - dt.timedelta(days=day)
        for n in range(calls):
            load.call_offered(start + dt.timedelta(seconds=n * 3600 / calls))
    for n in range(50):  # the last half hour: 50 calls
        load.call_offered(NOW - dt.timedelta(seconds=1800 - n * 36))
    for n in range(20):
        load.call_ended(NOW - dt.timedelta(minutes=n + 1), 150 if n % 2 else 210)  # a mean of 180 s
    advice = load.advice(NOW, threshold_seconds=25, target=0.8)
    assert advice.calls_per_second == pytest.approx(50 / 1800) and advice.handle_seconds == pytest.approx(180)
    assert advice.now == agents_needed(50 / 1800, 180, 25, 0.8)  # 5 Erlang
    assert advice.now.agents == 8 and queue_figures(7, 50 / 1800, 180, 25).service_level < 0.8
    # Days 4-7 were before the load was watched: the mean of the three days seen, 100 calls an hour.
    assert advice.next_hour_calls_per_second == pytest.approx(100 / 3600)
    assert advice.next_hour == agents_needed(100 / 3600, 180, 25, 0.8)


def test_no_advice_without_calls_to_work_from():
    load = PhoneLoad()
    load.call_offered(NOW - dt.timedelta(minutes=5))
    advice = load.advice(NOW, threshold_seconds=25, target=0.8)
    assert (advice.now, advice.next_hour, advice.handle_seconds) == (None, None, None)
