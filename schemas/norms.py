"""Service norms (servicenormen): the closed vocabulary of what a norm measures, over which windows, and how.

The norms themselves are the organisation's configuration (its file's ``[[norms]]``); what can be measured is
fixed here, so that the norms service, its metrics' labels, the thermometer and docs/norms.md (each measure's
formula, with a worked example) speak of the same things.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.contacts import Channel


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
