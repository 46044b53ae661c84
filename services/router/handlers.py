"""The router's handlers: a question or a case event in, what to publish and the party's new state out."""

from __future__ import annotations

from plumbing.calendar import TermCalendar
from plumbing.kafka import Outgoing
from schemas import CaseResolved, OpenCase, QuestionAsked, RoutingDecided
from schemas.topics import CASE_REQUESTS, DECISIONS
from services.router import domain
from services.router.domain import Classifier, PartyState, Routing


def handle_question(
    question: QuestionAsked,
    state: PartyState | None,
    *,
    classifier: Classifier,
    calendar: TermCalendar,
    source: str,
) -> tuple[list[Outgoing], PartyState | None]:
    """Route a question: its decision keyed like the contact, a case request keyed by case id, the new state."""
    routing = domain.route(question, state, classifier=classifier, calendar=calendar)
    return outgoing(routing, question, source=source), routing.state


def handle_case_resolved(event: CaseResolved, state: PartyState | None) -> PartyState | None:
    """A resolved case no longer links new questions on its subject."""
    return state.without_case(event.data.case_id) if state else None


def outgoing(routing: Routing, question: QuestionAsked, *, source: str) -> list[Outgoing]:
    """Events of one routing. Their ids derive from the question, so a redelivery repeats them exactly."""
    key = question.data.partition_key()
    events = [Outgoing.new(DECISIONS, key, RoutingDecided, routing.decision, source=source,
                           time=routing.decision.decided_at, id=domain.derived_id(question, "decision"))]
    if routing.case is not None:
        events.append(Outgoing.new(CASE_REQUESTS, routing.case.case_id, OpenCase, routing.case, source=source,
                                   time=routing.case.requested_at, id=domain.derived_id(question, "open-case")))
    return events
