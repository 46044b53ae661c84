"""Test data builders: valid events with sensible defaults."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator

import httpx

from schemas import (DecisionData, OpenCase, OpenCaseData, PartyRef, QuestionAsked, QuestionData,
                     RoutingDecided)
from schemas.contacts import Channel
from schemas.envelope import CloudEvent, source_urn

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)
SOURCE = source_urn("00000001999999999000", "loket-tests")
#: The party of the router's tests' questions, unless a test names another.
PARTY = PartyRef(pseudonym="b" * 64, identified_by="bsn")
#: Fifty parties, and subjects of each kind the rules tell apart (an ordinary question, a complaint, a front-office
#: answer, a callback request), for streams of questions.
PARTIES = [PartyRef(pseudonym=f"{n:064x}", identified_by="bsn") for n in range(50)]
SUBJECTS = ["container-kapot", "klacht", "paspoort-id", "terugbelverzoek"]


def open_case(case_id: str = "case-1", request_id: str | None = None, **data: object) -> OpenCase:
    fields = dict(case_id=case_id, question_id=f"q-{case_id}", contact_id=f"c-{case_id}", channel="phone",
                  subject_code="grofvuil", case_type="ophalen-grofvuil", department="openbare-ruimte",
                  due_date=dt.date(2026, 12, 7), question="Mijn bankstel moet weg", requested_at=NOW)
    fields.update(data)
    return OpenCase.create(source=SOURCE, data=OpenCaseData(**fields), subject=case_id, time=NOW,
                           id=request_id or f"{case_id}:open-case")


def decision(question_id: str = "q-1", **data: object) -> RoutingDecided:
    """A routing decision: by default a phone question answered in the front office."""
    fields = dict(question_id=question_id, contact_id=f"c-{question_id}", channel="phone", subject_code="grofvuil",
                  outcome="answered", rule="front-office-answer", reason="Beantwoord.", decided_at=NOW)
    fields.update(data)
    return RoutingDecided.create(source=SOURCE, data=DecisionData(**fields), id=f"{question_id}:decision", time=NOW)


def event(model: type[CloudEvent], event_id: str, **data: object) -> CloudEvent:
    """Any event of the contract, its data given field by field (its ``time``: ``NOW``)."""
    data_model = model.model_fields["data"].annotation
    return model.create(source=SOURCE, data=data_model(**data), id=event_id, time=NOW)


#: Which channel system posts to each intake door (questions: by their channel).
_DOOR_SYSTEMS = {"/v1/call-reports": "telephony", "/v1/counter-reports": "counter",
                 "/v1/satisfaction-scores": "survey"}


class ChannelSystemAuth(httpx.Auth):
    """An intake client's credentials: each request carries the development token of the channel system whose
    door it uses (a question: the system of its channel), as the real systems would. ``system`` pins one."""

    def __init__(self, system: str | None = None) -> None:
        self.system = system

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        from services.intake.auth import ChannelSystem, development_token, system_of_channel

        system = self.system or _DOOR_SYSTEMS.get(request.url.path)
        if system is None:
            try:
                channel = json.loads(request.content).get("channel")
                system = system_of_channel(Channel(channel)).value
            except (httpx.RequestNotRead, ValueError, AttributeError, TypeError, RecursionError):
                system = "website"  # a body that is no question: any system's token, for the 4xx under test
        request.headers.setdefault("Authorization", f"Bearer {development_token(ChannelSystem(system))}")
        yield request


def question(contact_id: str, text: str | None = None, *, party: PartyRef | None = PARTY, channel: str = "web",
             subject_code: str | None = None, received_at: dt.datetime = NOW, **data: object) -> QuestionAsked:
    """A question as the intake publishes it, keyed (``data.partition_key()``) by its party's pseudonym."""
    body = QuestionData(contact_id=contact_id, channel=channel, text=text, subject_code=subject_code, party=party,
                        received_at=received_at, **data)
    return QuestionAsked.create(source=SOURCE, data=body, subject=body.partition_key(), time=NOW)


def by_contact(records: Iterable) -> dict[str, DecisionData]:
    """The decisions among consumed records, by contact id (the last one of a contact, if it has more)."""
    decided = (RoutingDecided.model_validate_json(r.value).data for r in records)
    return {d.contact_id: d for d in decided}
