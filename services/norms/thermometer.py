"""The public service thermometer's figures: each norm over each window, with its status in colour and words and
its trend. Pure: from the book's figures at a moment (docs/norms.md, "The thermometer")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from plumbing.organisation import Norm, Organisation
from schemas.norms import (MEASURES, ORANGE_MARGIN, ORANGE_MARGIN_SCORE, STATUS_LABELS, Direction, NormFigures,
                           Status, Thermometer, Trend, WindowFigure)
from services.norms.book import Figure

#: Differences smaller than this are no trend (a share's rounding on the page: a tenth of a percentage point).
SAME = 0.0005


def thermometer(organisation: Organisation, figures: Iterable[Figure], now: dt.datetime) -> Thermometer:
    """The thermometer of ``organisation``'s norms from the book's ``figures`` at ``now``."""
    by_norm: dict[str, list[Figure]] = {}
    for figure in figures:
        by_norm.setdefault(figure.norm, []).append(figure)
    norms = []
    for norm in organisation.norms:
        windows = tuple(_window(norm, f) for f in by_norm.get(norm.id, []))
        below = any(w.status in (Status.NEARLY, Status.BELOW) for w in windows)
        norms.append(NormFigures(
            id=norm.id, title=norm.title, measure=norm.measure, channel=norm.channel, threshold=norm.threshold,
            unit=norm.unit, target=norm.target, direction=norm.direction, windows=windows,
            below_target=norm.below_target if below else None))
    return Thermometer(organisation=organisation.name, measured_at=now, norms=tuple(norms))


def status(norm: Norm, actual: float | None) -> Status:
    """Met, nearly (orange: within the margin of the target), below, or no data."""
    if actual is None:
        return Status.NO_DATA
    short = norm.target - actual if norm.direction is Direction.AT_LEAST else actual - norm.target
    if short <= 0:
        return Status.MET
    margin = ORANGE_MARGIN if MEASURES[norm.measure].share else ORANGE_MARGIN_SCORE
    return Status.NEARLY if short <= margin + 1e-9 else Status.BELOW  # 5 points short is within 5 points


def trend(norm: Norm, actual: float | None, previous: float | None) -> Trend | None:
    """Better, the same or worse than the window before, as the norm's direction judges it."""
    if actual is None or previous is None:
        return None
    change = actual - previous if norm.direction is Direction.AT_LEAST else previous - actual
    if abs(change) < SAME:
        return Trend.SAME
    return Trend.BETTER if change > 0 else Trend.WORSE


def _window(norm: Norm, figure: Figure) -> WindowFigure:
    stands = status(norm, figure.actual)
    return WindowFigure(window=figure.window, actual=figure.actual, previous=figure.previous, status=stands,
                        label=STATUS_LABELS[stands], trend=trend(norm, figure.actual, figure.previous))
