"""The norms' book: every event that a configured norm measures, into that norm's tallies; and the figures per
norm and window at a given moment. Pure: events and the clock are handed in. The measures are specified in
docs/norms.md; each branch below names the one it serves."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from plumbing.calendar import DUTCH_TIME, WorkingDayCalendar, dutch_day
from plumbing.organisation import Norm, Organisation, SubjectKind
from schemas import RoutingDecided
from schemas.calls import CallAbandoned, CallAnswered, CallEnded, CallOffered, CallTransferred
from schemas.cases import CaseExtended, CaseOpened, CaseResolved, CaseResumed, CaseSuspended
from schemas.contacts import Channel, QuestionAsked
from schemas.counter import AppointmentArrived, AppointmentBooked, AppointmentCalled, TicketCalled, TicketIssued, \
    TicketNoShow
from schemas.decisions import Outcome
from schemas.envelope import CloudEvent
from schemas.feedback import SatisfactionScored
from schemas.norms import AbandonedInTime, Direction, NormMeasure, Unit, Window
from schemas.replies import FirstReplySent
from services.norms.tallies import Mean, Share, window_days

_SECONDS = {Unit.SECONDS: 1, Unit.MINUTES: 60, Unit.DAYS: 86_400, Unit.WEEKS: 7 * 86_400}


@dataclass(frozen=True)
class Figure:
    """One norm over one window: the figure now and over the window before, and whether it is met. ``None``:
    no data (never 0)."""

    norm: str
    window: Window
    actual: float | None
    previous: float | None
    met: bool | None


class NormBook:
    """The tallies of an organisation's norms. ``observe`` takes every event of the contacts, decisions and case
    topics (the ones no norm measures are passed over); ``figures`` reads them at a moment."""

    def __init__(self, organisation: Organisation, calendar: WorkingDayCalendar | None = None) -> None:
        self.norms = organisation.norms
        self._organisation = organisation
        self._calendar = calendar or WorkingDayCalendar(organisation.closing_days)
        self._tallies: dict[str, Share | Mean] = {
            n.id: Mean() if n.measure is NormMeasure.SATISFACTION else Share() for n in self.norms}
        self._by_measure: dict[NormMeasure, list[Norm]] = {}
        for norm in self.norms:
            self._by_measure.setdefault(norm.measure, []).append(norm)
        self._transfers: dict[str, set[str]] = {}  # calls answered and not ended: their transfers' event ids
        self._booked: dict[str, dt.datetime] = {}  # appointments: the time booked
        self._cases: dict[str, list[Norm]] = {}  # case id: the norms that measure it, decided when it opened
        self._resolved_early: dict[str, dt.datetime] = {}  # a case resolved before it was seen opened
        self._suspended: set[str] = set()  # cases whose clocks stand still
        callback = organisation.subject(organisation.callback_subject)
        self._callback_type = callback.case_type if callback is not None else None
        self._complaint_types = {s.case_type for s in organisation.subjects
                                 if s.kind is SubjectKind.COMPLAINT and s.case_type}

    # -- reading -----------------------------------------------------------------------------------------------

    def figures(self, now: dt.datetime) -> list[Figure]:
        """Every norm over each of its windows, as at ``now``."""
        today = dutch_day(now)
        figures = []
        for norm in self.norms:
            tally = self._tallies[norm.id]
            overdue = tally.overdue(now)
            for window in norm.windows:
                actual = tally.ratio(window_days(window, today), now, overdue)
                previous = tally.ratio(window_days(window, today, previous=True), now, overdue)
                figures.append(Figure(norm.id, window, actual, previous, _met(norm, actual)))
        return figures

    # -- taking events in --------------------------------------------------------------------------------------

    def observe(self, event: CloudEvent) -> None:
        """Take one event into the tallies of the norms that measure it."""
        match event:
            case CallOffered() | CallAnswered() | CallAbandoned() | CallTransferred() | CallEnded():
                self._call(event)
            case TicketIssued() | TicketCalled() | TicketNoShow() | AppointmentBooked() | AppointmentArrived() \
                    | AppointmentCalled():
                self._visit(event)
            case QuestionAsked():
                self._question(event)
            case FirstReplySent():
                for norm in self._norms(NormMeasure.FIRST_REPLY_WITHIN, event.data.channel):
                    self._share(norm).meet(event.data.contact_id, event.data.sent_at)
            case SatisfactionScored():
                for norm in self._norms(NormMeasure.SATISFACTION):
                    mean = self._tallies[norm.id]
                    assert isinstance(mean, Mean)
                    # Keyed by the survey's response: a corrected score is a new event of the same response,
                    # and the first counts (a past window does not change).
                    mean.add(event.data.response_reference, dutch_day(event.data.scored_at), event.data.score)
            case RoutingDecided():
                self._decision(event)
            case CaseOpened() | CaseResolved() | CaseSuspended() | CaseResumed() | CaseExtended():
                self._case(event)

    def _call(self, event: CloudEvent) -> None:
        """phone-answered-within, phone-abandoned (on the day of the answer or hang-up), transfers-within (on the
        day the call ended)."""
        data = event.data
        call = data.contact_id
        match event:
            case CallAnswered() | CallAbandoned():
                answered, wait = isinstance(event, CallAnswered), data.wait_seconds
                day = dutch_day(data.answered_at if answered else data.abandoned_at)
                for norm in self._norms(NormMeasure.PHONE_ANSWERED_WITHIN):
                    in_time = wait <= _seconds(norm)
                    if answered:
                        self._share(norm).settle(call, day, in_time)
                    elif wait > norm.short_abandon_seconds and not (
                            in_time and norm.abandoned_in_time is AbandonedInTime.LEFT_OUT):
                        self._share(norm).settle(call, day, False)
                for norm in self._norms(NormMeasure.PHONE_ABANDONED):
                    if answered or wait > norm.short_abandon_seconds:
                        self._share(norm).settle(call, day, not answered)
                ended = any(call in self._share(n).settled for n in self._norms(NormMeasure.TRANSFERS_WITHIN))
                if answered and not ended:
                    self._transfers.setdefault(call, set())
            case CallTransferred() if call in self._transfers:
                self._transfers[call].add(event.id)  # a transfer told twice is one transfer
            case CallEnded() if call in self._transfers:
                transfers = len(self._transfers.pop(call))
                for norm in self._norms(NormMeasure.TRANSFERS_WITHIN):
                    self._share(norm).settle(call, dutch_day(data.ended_at), transfers <= (norm.threshold or 0))

    def _visit(self, event: CloudEvent) -> None:
        """walk-in-called-within and appointment-called-within (a no-show at an appointment is left out)."""
        data = event.data
        visit = data.contact_id
        match event:
            case TicketIssued():
                for norm in self._norms(NormMeasure.WALK_IN_CALLED_WITHIN):
                    self._share(norm).expect(visit, data.issued_at + dt.timedelta(seconds=_seconds(norm)))
            case TicketCalled():
                for norm in self._norms(NormMeasure.WALK_IN_CALLED_WITHIN):
                    in_time = data.wait_seconds <= _seconds(norm)
                    deadline = data.called_at - dt.timedelta(seconds=data.wait_seconds - _seconds(norm))
                    self._share(norm).settle(visit, dutch_day(data.called_at if in_time else deadline), in_time)
            case TicketNoShow():  # called too, and nobody came: from the ticket's issue to the call
                for norm in self._norms(NormMeasure.WALK_IN_CALLED_WITHIN):
                    self._share(norm).meet(visit, data.called_at)
            case AppointmentBooked():
                self._booked[visit] = data.appointment_at
            case AppointmentArrived() if visit in self._booked:
                booked = self._booked[visit]
                for norm in self._norms(NormMeasure.APPOINTMENT_CALLED_WITHIN):
                    self._share(norm).expect(visit, booked + dt.timedelta(seconds=_seconds(norm)))
            case AppointmentCalled():
                self._booked.pop(visit, None)
                for norm in self._norms(NormMeasure.APPOINTMENT_CALLED_WITHIN):
                    deadline = data.appointment_at + dt.timedelta(seconds=_seconds(norm))
                    in_time = data.called_at <= deadline
                    self._share(norm).settle(visit, dutch_day(data.called_at if in_time else deadline), in_time)

    def _question(self, event: QuestionAsked) -> None:
        """first-reply-within: a written question awaits its first reply from the moment it was received."""
        data = event.data
        for norm in self._norms(NormMeasure.FIRST_REPLY_WITHIN, data.channel):
            self._share(norm).expect(data.contact_id, self._deadline(norm, data.received_at))

    def _decision(self, event: RoutingDecided) -> None:
        """first-contact-resolution, referrals and repeat-contacts: on the day of the question."""
        data = event.data
        day = dutch_day(data.decided_at)
        for norm in self._norms(NormMeasure.FIRST_CONTACT_RESOLUTION):
            self._share(norm).settle(data.question_id, day, data.outcome in (Outcome.ANSWERED, Outcome.REFERRED))
        for norm in self._norms(NormMeasure.REFERRALS):
            self._share(norm).settle(data.question_id, day, data.outcome is Outcome.REFERRED)
        if data.party_pseudonym is None:
            return  # an anonymous question cannot be recognised as asked again
        for norm in self._norms(NormMeasure.REPEAT_CONTACTS):  # the router knows the party's earlier questions
            self._share(norm).settle(data.question_id, day, data.repeat_contact)

    def _case(self, event: CloudEvent) -> None:
        """callback-within, cases-within-norm and complaints-within-term. Which of them measure a case is decided
        when it opens, by its case type (an agent's callback keeps the question's subject, not the callback
        subject's). Its deadline runs from then, stands still while it is suspended, and moves with a resumption
        or an extension; a deadline already passed never moves: that miss stays."""
        data = event.data
        case = data.case_id
        if isinstance(event, CaseOpened):
            if case in self._cases:
                return
            self._cases[case] = norms = self._case_norms(data.case_type)
            for norm in norms:
                self._share(norm).expect(case, self._case_deadline(norm, event))
            if case in self._resolved_early:
                self._resolved(case, self._resolved_early.pop(case))
            return
        if case not in self._cases:
            if isinstance(event, CaseResolved):
                self._resolved_early.setdefault(case, data.resolved_at)
            return
        match event:
            case CaseResolved():
                self._resolved(case, data.resolved_at)
            case CaseSuspended():
                self._overdue_misses(case, data.changed_at)
                self._suspended.add(case)
                for norm in self._cases[case]:
                    self._share(norm).forget(case)
            case CaseResumed() | CaseExtended():
                if case not in self._suspended:
                    self._overdue_misses(case, data.changed_at)
                elif data.suspended:
                    return  # extended while suspended: its clocks start again when it resumes
                self._suspended.discard(case)
                for norm in self._cases[case]:
                    share = self._share(norm)
                    if norm.measure is not NormMeasure.CALLBACK_WITHIN and case not in share.settled:
                        due = (data.legal_due or data.due_date) if norm.measure is NormMeasure.COMPLAINTS_WITHIN_TERM \
                            else data.due_date
                        share.expect(case, _end_of(due))

    def _resolved(self, case: str, at: dt.datetime) -> None:
        self._suspended.discard(case)
        for norm in self._cases[case]:
            self._share(norm).meet(case, at)

    def _overdue_misses(self, case: str, at: dt.datetime) -> None:
        """Any of the case's deadlines passed before ``at`` is a miss, on its day, whatever happens next."""
        for norm in self._cases[case]:
            share = self._share(norm)
            deadline = share.expected.get(case)
            if deadline is not None and deadline < at:
                share.meet(case, at)

    # -- helpers -----------------------------------------------------------------------------------------------

    def _case_norms(self, case_type: str) -> list[Norm]:
        if case_type == self._callback_type:
            return self._norms(NormMeasure.CALLBACK_WITHIN)
        if case_type in self._complaint_types:
            return self._norms(NormMeasure.COMPLAINTS_WITHIN_TERM)
        return self._norms(NormMeasure.CASES_WITHIN_NORM)

    def _case_deadline(self, norm: Norm, opened: CaseOpened) -> dt.datetime:
        data = opened.data
        if norm.measure is NormMeasure.CALLBACK_WITHIN:
            return self._deadline(norm, data.requested_at or data.opened_at)
        if norm.measure is NormMeasure.COMPLAINTS_WITHIN_TERM:
            return _end_of(data.legal_due or data.due_date)
        return _end_of(data.due_date)

    def _deadline(self, norm: Norm, start: dt.datetime) -> dt.datetime:
        """The end of a term of ``norm``'s threshold from ``start``: working days to the end of the N-th working
        day after the day of ``start``; calendar time from ``start`` itself."""
        if norm.unit is Unit.WORKING_DAYS:
            return _end_of(self._calendar.add_working_days(dutch_day(start), int(norm.threshold or 0)))
        return start.astimezone(DUTCH_TIME) + dt.timedelta(seconds=_seconds(norm))  # the Dutch clock time, across DST

    def _norms(self, measure: NormMeasure, channel: Channel | None = None) -> list[Norm]:
        """The norms of ``measure``; with a ``channel``, only those about it."""
        norms = self._by_measure.get(measure, [])
        return norms if channel is None else [n for n in norms if n.channel is channel]

    def _share(self, norm: Norm) -> Share:
        tally = self._tallies[norm.id]
        assert isinstance(tally, Share)
        return tally


def _seconds(norm: Norm) -> float:
    """A threshold of time in seconds (``times`` and working days have their own ways)."""
    assert norm.threshold is not None and norm.unit is not None
    return norm.threshold * _SECONDS.get(norm.unit, 1)


def _end_of(day: dt.date) -> dt.datetime:
    """The last moment of a Dutch calendar day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), DUTCH_TIME) - dt.timedelta(microseconds=1)


def _met(norm: Norm, actual: float | None) -> bool | None:
    if actual is None:
        return None
    return actual <= norm.target if norm.direction is Direction.AT_MOST else actual >= norm.target
