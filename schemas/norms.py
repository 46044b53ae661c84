"""Service norms (servicenormen): the closed vocabulary of what a norm measures, over which windows, and how.

The norms themselves are the organisation's configuration (its file's ``[[norms]]``); what can be measured is
fixed here, so that the norms service, its metrics' labels, the thermometer and docs/norms.md (each measure's
formula, with a worked example) speak of the same things.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from pydantic import AwareDatetime, Field

from schemas.contacts import Channel
from schemas.envelope import Frozen


class NormMeasure(StrEnum):
    """What a norm measures. A share is of the contacts the measure counts, over the window."""

    PHONE_ANSWERED_WITHIN = "phone-answered-within"  # calls offered, answered within the threshold (service level)
    PHONE_ABANDONED = "phone-abandoned"  # calls offered that the caller hung up on before an answer
    CALLBACK_WITHIN = "callback-within"  # callback requests (terugbelverzoeken) done within the threshold
    FIRST_REPLY_WITHIN = "first-reply-within"  # written questions of a channel first replied to within the threshold
    WALK_IN_CALLED_WITHIN = "walk-in-called-within"  # walk-in tickets called within the threshold after issue
    APPOINTMENT_CALLED_WITHIN = "appointment-called-within"  # appointments called within the threshold of their time
    FIRST_CONTACT_RESOLUTION = "first-contact-resolution"  # questions answered or referred at once (Antwoord©)
    CASES_WITHIN_NORM = "cases-within-norm"  # cases done within their subject's service norm
    COMPLAINTS_WITHIN_TERM = "complaints-within-term"  # complaints done within their legal term (Awb 9:11)
    TRANSFERS_WITHIN = "transfers-within"  # calls transferred at most the threshold's number of times
    REFERRALS = "referrals"  # questions referred to another organisation ("how often am I referred")
    REPEAT_CONTACTS = "repeat-contacts"  # questions on a subject the party asked within the threshold before
    SATISFACTION = "satisfaction"  # the mean satisfaction score (KTO, 1-10)


class Direction(StrEnum):
    """Whether a norm is met at or above its target, or at or below it."""

    AT_LEAST = "at-least"
    AT_MOST = "at-most"


class Unit(StrEnum):
    """The unit of a norm's threshold. Working days follow the organisation's calendar (as the cases' due dates);
    days and weeks are calendar time."""

    SECONDS = "seconds"
    MINUTES = "minutes"
    WORKING_DAYS = "working-days"
    DAYS = "days"
    WEEKS = "weeks"
    TIMES = "times"


class Window(StrEnum):
    """The periods a norm is measured over, ending now: today (since midnight, Dutch time), and the last 7 and
    30 days."""

    TODAY = "today"
    LAST_7_DAYS = "7d"
    LAST_30_DAYS = "30d"


class AbandonedInTime(StrEnum):
    """How the phone's service level counts a call abandoned within the threshold (after the short-abandon
    threshold): as a call not answered in time (the default), or not at all."""

    MISS = "miss"
    LEFT_OUT = "left-out"


@dataclass(frozen=True)
class MeasureSpec:
    """What a measure's norm must say: the direction it is met in, the units its threshold may take (none: it
    has no threshold), whether its target is a share (0-1) or a mean score, and the channels it may be about
    (none: it is about every channel)."""

    direction: Direction
    units: frozenset[Unit]
    share: bool = True
    channels: frozenset[Channel] | None = None


_PHONE = frozenset({Channel.PHONE})
_COUNTER = frozenset({Channel.COUNTER})
_TIME = frozenset({Unit.SECONDS, Unit.MINUTES})
_TERM = frozenset({Unit.WORKING_DAYS, Unit.DAYS, Unit.WEEKS})

MEASURES: dict[NormMeasure, MeasureSpec] = {
    NormMeasure.PHONE_ANSWERED_WITHIN: MeasureSpec(Direction.AT_LEAST, _TIME, channels=_PHONE),
    NormMeasure.PHONE_ABANDONED: MeasureSpec(Direction.AT_MOST, frozenset(), channels=_PHONE),
    NormMeasure.CALLBACK_WITHIN: MeasureSpec(Direction.AT_LEAST, _TERM),
    NormMeasure.FIRST_REPLY_WITHIN: MeasureSpec(Direction.AT_LEAST, _TERM,
                                                channels=frozenset({Channel.WEB, Channel.EMAIL, Channel.LETTER})),
    NormMeasure.WALK_IN_CALLED_WITHIN: MeasureSpec(Direction.AT_LEAST, _TIME, channels=_COUNTER),
    NormMeasure.APPOINTMENT_CALLED_WITHIN: MeasureSpec(Direction.AT_LEAST, _TIME, channels=_COUNTER),
    NormMeasure.FIRST_CONTACT_RESOLUTION: MeasureSpec(Direction.AT_LEAST, frozenset()),
    NormMeasure.CASES_WITHIN_NORM: MeasureSpec(Direction.AT_LEAST, frozenset()),
    NormMeasure.COMPLAINTS_WITHIN_TERM: MeasureSpec(Direction.AT_LEAST, frozenset()),
    NormMeasure.TRANSFERS_WITHIN: MeasureSpec(Direction.AT_LEAST, frozenset({Unit.TIMES}), channels=_PHONE),
    NormMeasure.REFERRALS: MeasureSpec(Direction.AT_MOST, frozenset()),
    NormMeasure.REPEAT_CONTACTS: MeasureSpec(Direction.AT_MOST, frozenset({Unit.DAYS})),
    NormMeasure.SATISFACTION: MeasureSpec(Direction.AT_LEAST, frozenset(), share=False),
}


class Status(StrEnum):
    """How a norm stands over a window, told in words as well as colour (WCAG: never by colour alone)."""

    MET = "met"  # green
    NEARLY = "nearly"  # orange: not met, within ORANGE_MARGIN (ORANGE_MARGIN_SCORE for a score) of the target
    BELOW = "below"  # red
    NO_DATA = "no-data"  # nothing counted in the window yet


#: How far from its target a norm not met may be and still be orange: 5 percentage points of a share, half a
#: point of a score.
ORANGE_MARGIN = 0.05
ORANGE_MARGIN_SCORE = 0.5
#: The thermometer's words for each status (Dutch).
STATUS_LABELS = {Status.MET: "Op norm", Status.NEARLY: "Net onder de norm", Status.BELOW: "Onder de norm",
                 Status.NO_DATA: "Nog geen gegevens"}


class Trend(StrEnum):
    """The figure against the window before it, as the norm's direction judges it."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


class WindowFigure(Frozen):
    """One norm over one window."""

    window: Window
    actual: float | None = Field(description="The share (0-1) or mean score; null without data, never 0.")
    previous: float | None = Field(description="The same over the window before it (yesterday, the 7 or 30 days "
                                   "before); null without data.")
    status: Status
    label: str = Field(description="The status in Dutch words.")
    trend: Trend | None = Field(description="Against the window before; null when either has no data.")


class NormFigures(Frozen):
    """A norm as the public thermometer shows it: what is promised, and how it stands over each window."""

    id: str
    title: str = Field(description="Dutch title.")
    measure: NormMeasure
    channel: Channel | None = Field(description="The channel it is about; null for every channel.")
    threshold: float | None
    unit: Unit | None
    target: float = Field(description="A share (0-1), or a mean score for satisfaction.")
    direction: Direction
    windows: tuple[WindowFigure, ...]
    below_target: str | None = Field(description="Why it is not met and what is done about it (Dutch), while any "
                                     "window is below target; null otherwise.")


class Thermometer(Frozen):
    """The public service thermometer (``/thermometer.json``): every norm, in the organisation's order. No
    personal data."""

    organisation: str
    measured_at: AwareDatetime = Field(description="The moment the figures hold for.")
    norms: tuple[NormFigures, ...]


class QueueAdvice(Frozen):
    """Erlang C's figures for the phone queue with the fewest agents that meet the phone norm."""

    agents: int = Field(ge=0, description="Agents on the phone that the norm needs.")
    calls_per_hour: float = Field(ge=0, description="Calls offered an hour: the load worked from.")
    wait_probability: float = Field(ge=0, le=1, description="Share of callers who find every agent busy.")
    service_level: float = Field(ge=0, le=1, description="Share answered within the norm's threshold.")
    average_speed_of_answer_seconds: float = Field(ge=0, description="Mean wait over all calls.")
    occupancy: float = Field(ge=0, le=1, description="Share of the agents' time spent on calls.")


class Staffing(Frozen):
    """Staffing advice for the phone queue (``/staffing.json``): agents the phone norm needs now (from the last
    half hour's calls) and in the next hour (from that hour on the days before), with the last hour's mean handle
    time. Null where there is nothing to work from."""

    norm: str | None = Field(description="The phone norm advised for; null when the organisation has none.")
    measured_at: AwareDatetime
    threshold_seconds: float | None
    target: float | None
    handle_seconds: float | None = Field(description="Mean talk and wrap-up time of the last hour's calls.")
    now: QueueAdvice | None
    next_hour: QueueAdvice | None


class SubjectCount(Frozen):
    """How often a subject came up in a week."""

    subject: str | None = Field(description="The subject's code; null: a complaint whose subject was not recognised.")
    title: str = Field(description="The subject's Dutch title.")
    count: int = Field(ge=1)


class RecurringWeek(Frozen):
    """One ISO week's most frequent subjects of complaints, of repeat contacts and of referrals."""

    week: str = Field(description="ISO week, e.g. 2026-W49 (Monday to Sunday, Dutch time).")
    starts: dt.date = Field(description="Its Monday.")
    complaints: tuple[SubjectCount, ...] = Field(description="What complaints were about (the router reads it from "
                                                 "their text), most frequent first.")
    repeat_contacts: tuple[SubjectCount, ...] = Field(description="Subjects people had to ask about again within "
                                                      "7 days, most frequent first.")
    referrals: tuple[SubjectCount, ...] = Field(description="Subjects referred to another organisation, most "
                                                "frequent first.")


class RecurringProblems(Frozen):
    """Recurring problems (``/reports/recurring.json``): per week the top subjects of complaints, repeat contacts
    and referrals, so the organisation can fix causes, not symptoms (Ontvankelijk). Counts only: no personal
    data."""

    organisation: str
    measured_at: AwareDatetime
    weeks: tuple[RecurringWeek, ...] = Field(description="The latest week first.")
