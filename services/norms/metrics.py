"""Every metric of the norms service. Labels come from closed sets only (outcome, channel, the organisation
file's norm ids, the windows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from plumbing.organisation import Norm
from schemas.norms import MEASURES
from services.norms.book import Figure

if TYPE_CHECKING:
    from services.norms.reading import Reading

DECISIONS = Counter("loket_decisions", "Routing decisions on the decisions topic, by outcome, the rule that "
                    "decided and channel.", ["outcome", "rule", "channel"])
FIRST_CONTACT_RESOLUTION = Gauge(
    "loket_first_contact_resolution_ratio",
    "Share of the questions on the decisions topic answered or referred in the front office at first contact.",
)
CONTACTS = Counter("loket_contacts", "Events on the contacts stream, from every door, by channel and type (a question "
                   "asked, a call offered, a ticket called, a score, a first reply...); an event on it twice counts "
                   "once.", ["channel", "type"])
WAIT_SECONDS = Histogram("loket_wait_seconds", "How long people waited for the organisation: phone callers in the "
                         "queue until answered or hanging up, counter walk-ins from their ticket until called.",
                         ["channel"], buckets=(5, 10, 15, 20, 25, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900, 1200,
                                               1800, 3600))
RECORDS_REFUSED = Counter("loket_norms_records_refused", "Records the norms service sent to the dead-letter topic.")


class NormFiguresCollector(Collector):
    """The norms' figures at each scrape, from ``figures()`` (the norms and the book's figures now):
    ``loket_norm_attainment_ratio{norm,window}`` and ``loket_norm_target_ratio{norm,direction}`` for the share
    norms, ``loket_norm_score{norm,window}`` and ``loket_norm_target_score{norm,direction}`` for a mean score
    (satisfaction: not a ratio). A window without data has no sample at all, never 0. Labels: the organisation
    file's norm ids and the closed sets of windows and directions (the alert rules compare by direction)."""

    def __init__(self, figures: Callable[[], tuple[Sequence[Norm], Sequence[Figure]]]) -> None:
        self._figures = figures

    def describe(self) -> list[Metric]:
        return []  # figures exist only once the book has them: nothing to describe ahead of a scrape

    def collect(self) -> Iterator[Metric]:
        norms, figures = self._figures()
        share = {n.id: MEASURES[n.measure].share for n in norms}
        attainment = GaugeMetricFamily("loket_norm_attainment_ratio", "A share norm's figure over a window: the "
                                       "share of contacts within its threshold (or abandoned, referred, repeated "
                                       "for an at-most norm).", labels=["norm", "window"])
        score = GaugeMetricFamily("loket_norm_score", "A score norm's mean over a window (satisfaction, 1-10).",
                                  labels=["norm", "window"])
        for figure in figures:
            if figure.actual is not None:
                (attainment if share[figure.norm] else score).add_metric([figure.norm, figure.window.value],
                                                                         figure.actual)
        target = GaugeMetricFamily("loket_norm_target_ratio", "A share norm's target; direction: met at-least or "
                                   "at-most it.", labels=["norm", "direction"])
        target_score = GaugeMetricFamily("loket_norm_target_score", "A score norm's target; direction: met at-least "
                                         "or at-most it.", labels=["norm", "direction"])
        for norm in norms:
            (target if share[norm.id] else target_score).add_metric([norm.id, norm.direction.value], norm.target)
        yield from (attainment, target, score, target_score)


class StaffingCollector(Collector):
    """``loket_staffing_agents_needed{horizon}`` at each scrape: the agents the phone norm needs ``now`` and in the
    ``next-hour``; no sample where there is nothing to work from."""

    def __init__(self, figures: Callable[[], "Reading | str"]) -> None:
        self._figures = figures

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily("loket_staffing_agents_needed", "Agents on the phone the phone norm needs "
                                   "(Erlang C): now, from the last half hour's calls, and in the next hour, from "
                                   "that hour on the days before.", labels=["horizon"])
        reading = self._figures()
        if not isinstance(reading, str):
            advice = reading.staffing(dt.datetime.now(dt.timezone.utc))
            for horizon, queue in (("now", advice.now), ("next-hour", advice.next_hour)):
                if queue is not None:
                    family.add_metric([horizon], queue.agents)
        yield family


def register(figures: Callable[[], "Reading | str"]) -> None:
    """Serve the norms' figures and the staffing advice on this process's ``/metrics``: nothing while ``figures``
    says why there are none (a sentence), the reading's figures at each scrape once there are."""

    def norm_figures() -> tuple[Sequence[Norm], Sequence[Figure]]:
        reading = figures()
        if isinstance(reading, str):
            return (), ()
        return reading.organisation.norms, reading.book.figures(dt.datetime.now(dt.timezone.utc))

    REGISTRY.register(NormFiguresCollector(norm_figures))
    REGISTRY.register(StaffingCollector(figures))
