"""The norms' figures on /metrics: a sample per norm and window with data, none without (never 0)."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from schemas.feedback import SatisfactionScored
from services.norms.metrics import NormFiguresCollector
from tests.builders import event
from tests.unit.test_norms_book import MONDAY, PHONE_SL, book_with, call, observe


def scraped(book, now: dt.datetime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry()
    registry.register(NormFiguresCollector(lambda: (book.norms, book.figures(now))))
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for sample in family.samples}


def test_each_window_with_data_is_a_sample_and_a_window_without_none():
    book = book_with(PHONE_SL, dict(measure="satisfaction", target=7.5))
    yesterday = MONDAY - dt.timedelta(days=1)
    observe(book, [call("answered", 10, at=yesterday) for _ in range(3)] + [call("answered", 60, at=yesterday)])
    observe(book, [event(SatisfactionScored, "s1", contact_id="c1", channel="phone", score=8, scored_at=yesterday,
                         response_reference="s1")])
    samples = scraped(book, MONDAY + dt.timedelta(hours=1))
    assert samples[("loket_norm_attainment_ratio", (("norm", "n0"), ("window", "7d")))] == 0.75
    assert ("loket_norm_attainment_ratio", (("norm", "n0"), ("window", "today"))) not in samples  # no data today
    assert samples[("loket_norm_score", (("norm", "n1"), ("window", "30d")))] == 8.0
    assert samples[("loket_norm_target_ratio", (("direction", "at-least"), ("norm", "n0")))] == 0.8
    assert samples[("loket_norm_target_score", (("direction", "at-least"), ("norm", "n1")))] == 7.5
    assert not any(name == "loket_norm_attainment_ratio" and dict(labels)["norm"] == "n1" for name, labels in samples)
