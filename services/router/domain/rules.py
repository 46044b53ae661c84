"""The one-desk rules, in order. Pure: no I/O, and no clock but the ``now`` handed in.

1. Referral: a subject of another organisation is referred, with its contact details.
2. Ask-once link: the party has an open case on this subject → the contact joins it; no new case.
3. Callback request (terugbelverzoek) → a case with the callback norm.
4. Front-office answer: the catalog's knowledge answer, the same text on every channel.
5. Escalation: a case for the subject's department, due in working days from its service norm;
   complaints (Awb art. 9:11, six weeks), corrections and ideas go to their own desks; a question
   that matched nothing goes to the generalist desk. A legal term ends by the Algemene termijnenwet
   (``plumbing.calendar``), and the due date never runs past it.
A live channel's explicit agent outcome wins over the catalog's default (it picks rule 1, 3, 4 or 5)
but never skips rule 2: it cannot create a duplicate case. Only ordinary questions link: a second
complaint, idea, callback request or unrecognised question is a case of its own.

A question already handled (its source and id are in the party's state) is not decided again: it
gets the decision it got, against the state as it was, so a redelivery has no second effect.

Every decision names the rule that fired and says why in Dutch. Redelivery of a question has no
second effect: the case id and every due date derive from the question itself (its source and id,
which CloudEvents makes unique together, and its receipt time), not from the clock.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any

from plumbing.calendar import TermCalendar, dutch_day
from plumbing.ids import uuid5
from plumbing.organisation import Organisation, Subject, SubjectKind
from schemas import AgentOutcome, DecisionData, OpenCaseData, Outcome, QuestionAsked, QuestionData, ReferralInfo
from schemas.contacts import LIVE_CHANNELS
from schemas.decisions import Rule
from services.router.domain.classifier import Classifier
from services.router.domain.state import Handled, OpenCaseRef, PartyState, utc

#: Ids the router mints derive from the question's source and id, so a redelivery mints the same ids.
ID_NAMESPACE = uuid.UUID("5b0c6f1e-2a8e-4d6b-9a51-6c0e3c1f7d10")
_HOW = {
    "subject-code": "onderwerpcode van het kanaal",
    "keyword-match": "herkend aan trefwoorden",
    "general-subject": "geen onderwerp herkend",
}


@dataclass(frozen=True)
class Routing:
    """What the router does with one question: a decision, maybe a case, and the party's new state."""

    decision: DecisionData
    case: OpenCaseData | None = None
    state: PartyState | None = None


@dataclass(frozen=True)
class _Question:
    """One question with everything the rules look at. Made by ``of``, which works out once what the rules ask
    for again and again (a ``cached_property`` takes a lock on every first use in Python 3.11)."""

    event: QuestionAsked
    data: QuestionData
    subject: Subject
    how: str
    state: PartyState | None
    #: A short stable digest of source and id, which together make a CloudEvent unique.
    key: str
    #: When the channel received the question, in ``utc`` as the party's state keeps its times.
    received_at: dt.datetime

    @classmethod
    def of(cls, event: QuestionAsked, subject: Subject, how: str, state: PartyState | None) -> _Question:
        return cls(event, event.data, subject, how, state, derived_id(event, "question"), utc(event.data.received_at))

    @property
    def id(self) -> str:
        return self.event.id

    @property
    def now(self) -> dt.datetime:
        """The instant the decision is made at: the question's own time (when it entered the stream), never
        the clock, so that a redelivered question is decided, to the byte, as it was the first time."""
        return self.event.time or self.data.received_at

    @property
    def received_on(self) -> dt.date:
        # Terms run from receipt, on the Dutch calendar day.
        return dutch_day(self.data.received_at)

    def decision(self, outcome: Outcome, rule: Rule, reason: str, **fields: Any) -> DecisionData:
        return DecisionData(
            question_id=self.id, contact_id=self.data.contact_id, channel=self.data.channel,
            party_pseudonym=self.data.party.pseudonym if self.data.party else None,
            subject_code=self.subject.code, outcome=outcome, rule=rule, reason=reason,
            repeat_contact=bool(self.state and self.state.is_repeat(self.subject.code, self.key, self.received_at)),
            decided_at=self.now, **fields,
        )


def derived_id(question: QuestionAsked, purpose: str) -> str:
    """A stable id for something the router makes of a question: the same on every redelivery."""
    return uuid5(ID_NAMESPACE, f"{question.source}\n{question.id}\n{purpose}")


def case_id_for(question: QuestionAsked) -> str:
    return derived_id(question, "case")


def route(
    question: QuestionAsked,
    state: PartyState | None = None,
    *,
    classifier: Classifier,
    calendar: TermCalendar,
) -> Routing:
    """Apply the one-desk rules to one question, given what we know of its party (None if unknown)."""
    subject, how = classifier.classify(question.data)
    q = _Question.of(question, subject, how, state)
    org = classifier.organisation
    done = state.handled_for(q.key) if state else None
    if done is not None:
        routing = _replay(q, done, org, calendar)
    else:
        decision, case = _decide(q, org, calendar)
        routing = Routing(decision, case, _next_state(q, org, decision, case))
    if subject.kind is SubjectKind.COMPLAINT and question.data.text:  # for the recurring-problems report
        about = classifier.about(question.data.text)
        if about is not None:
            routing = replace(routing, decision=routing.decision.model_copy(update={"about_subject": about.code}))
    return routing


def _replay(q: _Question, done: Handled, org: Organisation, calendar: TermCalendar) -> Routing:
    """The decision a redelivered question got the first time; the party's state stays as it is."""
    if done.outcome == Outcome.LINKED:
        assert done.case_id is not None and done.due_date is not None
        decision = _linked(q, done.case_id, done.due_date)
        case = None
    else:  # decided without a link the first time: decide again as if no case were open on its subject
        as_it_was = replace(q, state=q.state.without_subject(q.subject.code) if q.state else None)
        decision, case = _decide(as_it_was, org, calendar)
    return Routing(decision.model_copy(update={"repeat_contact": done.repeat_contact}), case, q.state)


def _decide(q: _Question, org: Organisation, calendar: TermCalendar) -> tuple[DecisionData, OpenCaseData | None]:
    # An agent's outcome only counts where an agent was: on a live channel.
    agent = q.data.agent_outcome if q.data.channel in LIVE_CHANNELS else None
    subject = q.subject
    if subject.referral and agent in (None, AgentOutcome.REFERRED):
        return _referral(q, org), None
    open_case = q.state.open_case_for(subject.code) if q.state and _linkable(subject, org) else None
    if open_case is not None and open_case.opened_by != q.key:
        return _linked(q, open_case.case_id, open_case.due_date), None
    if agent is AgentOutcome.CALLBACK or (agent is None and subject.kind is SubjectKind.CALLBACK):
        return _escalate(q, org, calendar, rule=Rule.CALLBACK, terms=org.subject(org.callback_subject))
    if agent is AgentOutcome.ANSWERED or (agent is None and subject.answer and subject.kind is SubjectKind.QUESTION):
        return _answer(q, agent), None
    if agent is AgentOutcome.REFERRED:
        reason = f"De medewerker heeft de vraag over '{subject.title}' doorverwezen."
        return q.decision(Outcome.REFERRED, Rule.AGENT_OUTCOME, reason), None
    rule = Rule.AGENT_OUTCOME if agent is AgentOutcome.ESCALATED else _escalation_rule(q)
    terms = subject if subject.case_type else org.subject(org.general_subject)
    return _escalate(q, org, calendar, rule=rule, terms=terms)


def _referral(q: _Question, org: Organisation) -> DecisionData:
    referral = org.referral(q.subject.referral or "")
    assert referral is not None  # the organisation file guarantees it
    reason = (f"Onderwerp '{q.subject.title}' ({_HOW[q.how]}) hoort bij {referral.name}: "
              f"doorverwezen naar {referral.name}, telefoon {referral.phone}, {referral.web}.")
    info = ReferralInfo(organisation=referral.name, phone=referral.phone, web=referral.web)
    return q.decision(Outcome.REFERRED, Rule.REFERRAL, reason, referral=info)


def _linkable(subject: Subject, org: Organisation) -> bool:
    """Only ordinary questions join an open case; every complaint, idea or callback is registered."""
    return subject.kind is SubjectKind.QUESTION and subject.code != org.general_subject


def _linked(q: _Question, case_id: str, due_date: dt.date) -> DecisionData:
    reason = (f"Er loopt al een zaak over '{q.subject.title}' voor deze klant: het contact is aan die zaak "
              f"gekoppeld (uiterlijk {due_date:%d-%m-%Y} afgehandeld). De klant hoeft niets opnieuw te vragen.")
    return q.decision(Outcome.LINKED, Rule.ASK_ONCE_LINK, reason, case_id=case_id, due_date=due_date)


def _answer(q: _Question, agent: AgentOutcome | None) -> DecisionData:
    if agent is AgentOutcome.ANSWERED and not q.subject.answer:
        reason = f"De medewerker heeft de vraag over '{q.subject.title}' direct beantwoord."
        return q.decision(Outcome.ANSWERED, Rule.AGENT_OUTCOME, reason)
    reason = f"Onderwerp '{q.subject.title}' ({_HOW[q.how]}) wordt direct beantwoord in de frontoffice."
    return q.decision(Outcome.ANSWERED, Rule.FRONT_OFFICE_ANSWER, reason, answer=q.subject.answer)


def _escalation_rule(q: _Question) -> Rule:
    if q.how == "general-subject":
        return Rule.GENERAL_SUBJECT
    return {SubjectKind.COMPLAINT: Rule.COMPLAINT, SubjectKind.CORRECTION: Rule.CORRECTION,
            SubjectKind.IDEA: Rule.IDEA}.get(q.subject.kind, Rule.ESCALATION)


def _department(q: _Question, org: Organisation, rule: Rule) -> str:
    desk = {Rule.COMPLAINT: org.desks.complaints, Rule.CORRECTION: org.desks.registry, Rule.IDEA: org.desks.ideas,
            Rule.GENERAL_SUBJECT: org.desks.generalist}.get(rule)
    return desk or q.subject.department or org.desks.generalist


def _escalate(q: _Question, org: Organisation, calendar: TermCalendar, *, rule: Rule,
              terms: Subject | None) -> tuple[DecisionData, OpenCaseData]:
    assert terms is not None and terms.case_type is not None  # the organisation file guarantees it
    # The law's term on the Atw's calendar; the organisation's promise on its own working days.
    legal = calendar.legal_term_end(q.received_on, weeks=terms.legal_term_weeks) if terms.legal_term_weeks else None
    norm = calendar.add_working_days(q.received_on, terms.norm_working_days) if terms.norm_working_days else None
    due = min(d for d in (norm, legal) if d is not None)  # the promise never runs past the law
    department = _department(q, org, rule)
    case_id = case_id_for(q.event)
    term = (f"binnen {terms.norm_working_days} werkdagen" if terms.norm_working_days
            else f"binnen {terms.legal_term_weeks} weken ({terms.legal_basis})")
    reason = (f"{_ESCALATION_OPENING[rule].format(title=q.subject.title, how=_HOW[q.how])} "
              f"Zaak '{terms.case_type}' voor {department}, af te handelen {term}, uiterlijk {due:%d-%m-%Y}.")
    decision = q.decision(Outcome.ESCALATED, rule, reason, case_id=case_id, department=department, due_date=due)
    case = OpenCaseData(
        case_id=case_id, question_id=q.id, contact_id=q.data.contact_id, channel=q.data.channel,
        subject_code=q.subject.code, case_type=terms.case_type, department=department, due_date=due,
        legal_deadline=legal, legal_basis=terms.legal_basis if legal else None, asked_on=q.received_on,
        norm_working_days=terms.norm_working_days, legal_term_weeks=terms.legal_term_weeks, question=q.data.text,
        party=q.data.party, requested_at=q.now,
    )
    return decision, case


_ESCALATION_OPENING = {
    Rule.ESCALATION: "Onderwerp '{title}' ({how}) vraagt om behandeling door de backoffice.",
    Rule.AGENT_OUTCOME: "De medewerker heeft de vraag over '{title}' doorgezet naar de backoffice.",
    Rule.GENERAL_SUBJECT: "Geen onderwerp herkend: de vraag gaat naar de generalistenbalie.",
    Rule.COMPLAINT: "Klacht ({how}): naar klachtbehandeling.",
    Rule.CORRECTION: "Verzoek om correctie van persoonsgegevens ({how}): naar de basisregistratie.",
    Rule.IDEA: "Idee of suggestie ({how}): geregistreerd voor opvolging.",
    Rule.CALLBACK: "Terugbelverzoek over '{title}': de klant wordt teruggebeld.",
}


def _next_state(q: _Question, org: Organisation, decision: DecisionData, case: OpenCaseData | None
                ) -> PartyState | None:
    if q.data.party is None:
        return None
    state = q.state or PartyState()
    if case is not None and decision.rule is not Rule.CALLBACK and _linkable(q.subject, org):
        state = state.with_case(OpenCaseRef(case_id=case.case_id, subject_code=q.subject.code, opened_by=q.key,
                                            due_date=case.due_date))
    return state.with_handled(Handled(
        question_key=q.key, subject_code=q.subject.code, received_at=q.received_at,
        outcome=decision.outcome.value, case_id=decision.case_id, due_date=decision.due_date,
        repeat_contact=decision.repeat_contact,
    ))
