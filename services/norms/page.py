"""The public service thermometer as HTML, rendered on the server (no JavaScript): the page and a widget to embed
in the organisation's website. Dutch, WCAG 2.1 AA: a table with headers, every status in words and a symbol as
well as colour, figures machine-readable in ``<data value>`` (the very numbers of ``/thermometer.json``)."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources

import jinja2

from plumbing.calendar import DUTCH_TIME
from schemas.norms import (MEASURES, Direction, NormFigures, RecurringProblems, Status, Thermometer, Trend, Window,
                           WindowFigure)

WINDOW_NAMES = {Window.TODAY: "Vandaag", Window.LAST_7_DAYS: "Afgelopen 7 dagen",
                Window.LAST_30_DAYS: "Afgelopen 30 dagen"}
#: What a window's trend is told against.
BEFORE = {Window.TODAY: "dan gisteren", Window.LAST_7_DAYS: "dan de 7 dagen ervoor",
          Window.LAST_30_DAYS: "dan de 30 dagen ervoor"}
SYMBOLS = {Status.MET: "✓", Status.NEARLY: "!", Status.BELOW: "✗", Status.NO_DATA: "–"}
ARROWS = {Trend.BETTER: "▲", Trend.SAME: "▶", Trend.WORSE: "▼"}
TREND_WORDS = {Trend.BETTER: "Beter", Trend.SAME: "Even goed", Trend.WORSE: "Slechter"}
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
#: The window the widget shows: a week says more than the morning so far.
WIDGET_WINDOW = Window.LAST_7_DAYS


def figure(norm: NormFigures, actual: float) -> str:
    """A share as a Dutch percentage with one decimal (82,5%), a score with one decimal (7,6)."""
    if MEASURES[norm.measure].share:
        return f"{actual * 100:.1f}%".replace(".", ",")
    return f"{actual:.1f}".replace(".", ",")


def target(norm: NormFigures) -> str:
    """The target in words: "ten minste 80%", "ten hoogste 5%", "ten minste een 7,5"."""
    bound = "ten minste" if norm.direction is Direction.AT_LEAST else "ten hoogste"
    if MEASURES[norm.measure].share:
        return f"{bound} {_trim(norm.target * 100)}%"
    return f"{bound} een {_trim(norm.target)}"


def when(moment: dt.datetime) -> str:
    """A moment in Dutch words and Dutch time: 3 december 2026 om 10:15 uur."""
    local = moment.astimezone(DUTCH_TIME)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} om {local:%H:%M} uur"


def when_day(day: dt.date) -> str:
    """A day in Dutch words: 30 november 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def render_page(thermometer: Thermometer | None) -> str:
    """The whole thermometer; ``None``: the figures are not ready yet (the page says so)."""
    return _environment().get_template("thermometer.html").render(t=thermometer, windows=tuple(Window),
                                                                  **_context())


def render_widget(thermometer: Thermometer | None) -> str:
    """The widget: every norm over the last 7 days, and a link to the whole thermometer."""
    return _environment().get_template("widget.html").render(t=thermometer, shown=WIDGET_WINDOW, **_context())


def render_recurring(report: RecurringProblems | None) -> str:
    """Recurring problems: a section per week with its three lists."""
    return _environment().get_template("recurring.html").render(r=report, **_context())


def _window(norm: NormFigures, window: Window) -> WindowFigure | None:
    return next((w for w in norm.windows if w.window is window), None)


def _trim(number: float) -> str:
    """80.0 → "80", 7.5 → "7,5" (Dutch decimal comma)."""
    return f"{number:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def _context() -> dict[str, object]:
    return dict(css=_css(), when=when, when_day=when_day, figure=figure, target=target, window=_window,
                window_names=WINDOW_NAMES,
                before=BEFORE, symbols=SYMBOLS, arrows=ARROWS, trend_words=TREND_WORDS, met=Status.MET,
                nearly=Status.NEARLY, below_status=Status.BELOW)


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("services.norms", "templates"), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)


@cache
def _css() -> str:
    return resources.files("services.norms").joinpath("templates/thermometer.css").read_text("utf-8")
