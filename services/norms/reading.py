"""What the norms service reads, in one place for the live service and ``loket norms rebuild``: every record of
the contacts, decisions and case-events topics, decoded and taken into the norms' book, the phone load and the
decision counters; and what is read from them at a moment (the thermometer, the staffing advice)."""

from __future__ import annotations

import datetime as dt

from plumbing.calendar import WorkingDayCalendar
from plumbing.deadletters import RawRecord, decode_one_of
from plumbing.organisation import Organisation
from schemas.calls import CallAbandoned, CallAnswered, CallEnded, CallOffered
from schemas.contacts import Channel
from schemas.counter import COUNTER_EVENTS, TicketCalled
from schemas.decisions import RoutingDecided
from schemas.envelope import CloudEvent
from schemas.norms import NormMeasure, QueueAdvice, Staffing, Thermometer, Unit
from schemas.topics import CASE_EVENTS, CONTACTS, DECISIONS, TopicSpec
from services.norms import handlers, metrics
from services.norms.book import NormBook
from services.norms.domain import OutcomeTally
from services.norms.recurring import Recurring
from services.norms.staffing import PhoneLoad, QueueFigures, StaffingAdvice
from services.norms.thermometer import thermometer

#: The topics the norms are measured from, in the order a rebuild reads them.
READ_TOPICS: tuple[TopicSpec, ...] = (CONTACTS, DECISIONS, CASE_EVENTS)
_CONTACT_EVENTS = CONTACTS.events
_TYPE_PREFIX = "nl.loket.contacts."
_TIME_UNITS = {Unit.SECONDS: 1, Unit.MINUTES: 60}


class Reading:
    """The norms of ``organisation`` as measured from the events taken so far."""

    def __init__(self, organisation: Organisation, calendar: WorkingDayCalendar | None = None, *,
                 counting: bool = True) -> None:
        self.organisation = organisation
        self.book = NormBook(organisation, calendar)
        self.load = PhoneLoad()
        self.tally = OutcomeTally()
        self.recurring = Recurring(organisation)
        #: Whether the events taken count on the service's counters (not while the history is read at a start:
        #: a counter counts from the process's start, as Prometheus expects).
        self.counting = counting
        self._seen: set[str] = set()  # event ids taken: every event once, whatever the order it comes in
        phone = [n for n in organisation.norms if n.measure is NormMeasure.PHONE_ANSWERED_WITHIN]
        self._phone = phone[0] if phone else None

    def take_record(self, spec: TopicSpec, record: RawRecord) -> None:
        """Decode a record of one of ``READ_TOPICS`` and take it in; ``Refused`` names what is wrong with it."""
        self.take(decode_one_of(spec.events, record))  # type: ignore[arg-type]

    def take(self, event: CloudEvent) -> None:
        self.book.observe(event)  # the book counts each contact once by its own keys
        if event.id in self._seen:
            return
        self._seen.add(event.id)
        match event:
            case CallOffered():
                self.load.call_offered(event.data.offered_at)
            case CallEnded():
                self.load.call_ended(event.data.ended_at, event.data.talk_seconds + event.data.wrap_up_seconds)
            case RoutingDecided():
                handlers.record_decision(event, self.tally, counting=self.counting)
                self.recurring.observe(event.data)
        if self.counting and isinstance(event, _CONTACT_EVENTS):
            self._count_contact(event)

    def publish_first_contact_resolution(self) -> None:
        """Set the first-contact-resolution gauge from the decisions taken so far (after the quiet history)."""
        handlers.publish_first_contact_resolution(self.tally)

    def _count_contact(self, event: CloudEvent) -> None:
        """``loket_contacts_total`` and ``loket_wait_seconds`` (by the channel each event is about)."""
        if isinstance(event, (CallAnswered, CallAbandoned)):
            metrics.WAIT_SECONDS.labels(Channel.PHONE.value).observe(event.data.wait_seconds)
        elif isinstance(event, TicketCalled):
            metrics.WAIT_SECONDS.labels(Channel.COUNTER.value).observe(event.data.wait_seconds)
        channel = getattr(event.data, "channel", None)
        if channel is None:
            channel = Channel.COUNTER if isinstance(event, COUNTER_EVENTS) else Channel.PHONE  # the rest: calls
        metrics.CONTACTS.labels(channel=channel.value, type=event.type.removeprefix(_TYPE_PREFIX)).inc()

    def thermometer(self, now: dt.datetime) -> Thermometer:
        return thermometer(self.organisation, self.book.figures(now), now)

    def staffing(self, now: dt.datetime) -> Staffing:
        """Agents the phone norm (the organisation's first phone-answered-within norm) needs now and next hour."""
        norm = self._phone
        if norm is None or norm.threshold is None or norm.unit is None:
            return Staffing(norm=None, measured_at=now, threshold_seconds=None, target=None, handle_seconds=None,
                            now=None, next_hour=None)
        threshold = norm.threshold * _TIME_UNITS[norm.unit]
        try:
            advice = self.load.advice(now, threshold, norm.target)
        except ValueError:  # a target of 100% no number of agents meets, or a load beyond any queue: no advice
            advice = StaffingAdvice(None, None, 0.0, 0.0, None)
        return Staffing(norm=norm.id, measured_at=now, threshold_seconds=threshold, target=norm.target,
                        handle_seconds=advice.handle_seconds, now=_queue(advice.now, advice.calls_per_second),
                        next_hour=_queue(advice.next_hour, advice.next_hour_calls_per_second))


def _queue(figures: QueueFigures | None, calls_per_second: float) -> QueueAdvice | None:
    if figures is None:
        return None
    return QueueAdvice(agents=figures.agents, calls_per_hour=calls_per_second * 3600,
                       wait_probability=figures.wait_probability, service_level=figures.service_level,
                       average_speed_of_answer_seconds=figures.average_speed_of_answer_seconds,
                       occupancy=figures.occupancy)
