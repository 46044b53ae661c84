"""The thermometer's status in colour and words, its trend, and the cause/action text only while below."""

from __future__ import annotations

import datetime as dt

import pytest

from plumbing.organisation import Norm, load_organisation
from schemas.norms import Status, Thermometer, Trend, Window
from services.norms.book import NormBook
from services.norms.thermometer import status, thermometer, trend
from tests.unit.test_norms_book import MONDAY, PHONE_SL, book_with, call, observe

ABANDONED = Norm(id="a", title="t", below_target="b", measure="phone-abandoned", channel="phone", target=0.05)
SATISFACTION = Norm(id="s", title="t", below_target="b", measure="satisfaction", target=7.5)
SERVICE_LEVEL = Norm(id="p", title="t", below_target="b", **PHONE_SL)


@pytest.mark.parametrize(("norm", "actual", "expected"), [
    (SERVICE_LEVEL, 0.80, Status.MET), (SERVICE_LEVEL, 0.75, Status.NEARLY), (SERVICE_LEVEL, 0.74, Status.BELOW),
    (ABANDONED, 0.05, Status.MET), (ABANDONED, 0.10, Status.NEARLY), (ABANDONED, 0.11, Status.BELOW),
    (SATISFACTION, 7.6, Status.MET), (SATISFACTION, 7.1, Status.NEARLY), (SATISFACTION, 6.9, Status.BELOW),
    (SERVICE_LEVEL, None, Status.NO_DATA),
])
def test_green_orange_red_and_no_data_by_the_norms_direction(norm, actual, expected):
    assert status(norm, actual) is expected


def test_the_trend_is_judged_by_the_norms_direction():
    assert trend(SERVICE_LEVEL, 0.85, 0.80) is Trend.BETTER and trend(ABANDONED, 0.08, 0.04) is Trend.WORSE
    assert trend(ABANDONED, 0.04, 0.08) is Trend.BETTER and trend(SERVICE_LEVEL, 0.8, 0.8002) is Trend.SAME
    assert trend(SERVICE_LEVEL, 0.8, None) is None


def test_the_thermometer_shows_every_norm_in_order_with_words_and_the_cause_only_while_below():
    organisation = load_organisation()
    book = NormBook(organisation)
    observe(book, [call("answered", 10) for _ in range(7)] + [call("answered", 60) for _ in range(3)])
    now = MONDAY + dt.timedelta(hours=1)
    shown = thermometer(organisation, book.figures(now), now)
    assert [n.id for n in shown.norms] == [n.id for n in organisation.norms]
    phone = next(n for n in shown.norms if n.id == "telefoon-opgenomen")
    today = next(w for w in phone.windows if w.window is Window.TODAY)
    assert (today.actual, today.status, today.label, today.trend) == (0.7, Status.BELOW, "Onder de norm", None)
    assert phone.below_target == organisation.norms[0].below_target
    quiet = next(n for n in shown.norms if n.id == "tevredenheid")
    assert {w.status for w in quiet.windows} == {Status.NO_DATA} and quiet.below_target is None
    assert Thermometer.model_validate_json(shown.model_dump_json()) == shown


def test_a_norm_met_shows_no_cause():
    book = book_with(PHONE_SL)
    observe(book, [call("answered", 10) for _ in range(9)] + [call("answered", 60)])
    now = MONDAY + dt.timedelta(hours=1)
    organisation = load_organisation().model_copy(update={"norms": book.norms})
    [norm] = thermometer(organisation, book.figures(now), now).norms
    assert norm.below_target is None and {w.status for w in norm.windows} == {Status.MET}
