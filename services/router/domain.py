"""The one-desk rules, pure: classify a question and decide to answer it or open a case.

No I/O and no clock: ``now`` is handed in. The decision records which rule fired and why.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from plumbing.calendar import WorkingDayCalendar
from plumbing.organisation import Organisation, Subject
from schemas import DecisionData, OpenCaseData, Outcome, QuestionData

#: Case ids are derived from the question's event id, so a redelivered question mints the same id.
CASE_ID_NAMESPACE = uuid.UUID("5b0c6f1e-2a8e-4d6b-9a51-6c0e3c1f7d10")
DUTCH_TIME = ZoneInfo("Europe/Amsterdam")
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@dataclass(frozen=True)
class Routing:
    """What the router does with one question: always a decision, sometimes a case to open."""

    decision: DecisionData
    case: OpenCaseData | None = None


def normalise(text: str) -> str:
    """Lower case without accents, so 'Paspoört' and 'paspoort' are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class Classifier:
    """Finds a question's subject. Keywords are normalised once, at start-up, not per question."""

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self._keywords = [(s, tuple(f" {normalise(k)} " for k in s.keywords)) for s in organisation.subjects]
        general = organisation.subject(organisation.general_subject)
        assert general is not None  # the organisation file guarantees it
        self._general = general

    def classify(self, question: QuestionData) -> tuple[Subject, str]:
        """The subject of a question and the rule that chose it.

        The channel's subject code wins; otherwise the subject with the most keyword hits, ties going
        to the subject listed first in the catalog; no hit at all means the general subject.
        """
        if question.subject_code:
            known = self.organisation.subject(question.subject_code)
            if known:
                return known, "subject-code"
        if question.text:
            text = f" {' '.join(_WORD.findall(normalise(question.text)))} "
            best, best_hits = None, 0
            for subject, keywords in self._keywords:
                hits = sum(1 for keyword in keywords if keyword in text)
                if hits > best_hits:  # strictly more: a tie keeps the subject listed first
                    best, best_hits = subject, hits
            if best is not None:
                return best, "keyword-match"
        return self._general, "general-subject"


def case_id_for(question_id: str) -> str:
    return str(uuid.uuid5(CASE_ID_NAMESPACE, question_id))


def route(
    question_id: str,
    question: QuestionData,
    *,
    classifier: Classifier,
    calendar: WorkingDayCalendar,
    now: dt.datetime,
) -> Routing:
    """Apply the one-desk rules to one question."""
    subject, how = classifier.classify(question)
    common = dict(
        question_id=question_id,
        contact_id=question.contact_id,
        channel=question.channel,
        party_pseudonym=question.party.pseudonym if question.party else None,
        subject_code=subject.code,
        decided_at=now,
    )
    if subject.answer is not None:
        reason = f"Onderwerp '{subject.title}' ({_how_nl(how)}) wordt direct beantwoord in de frontoffice."
        return Routing(DecisionData(outcome=Outcome.ANSWERED, rule="front-office-answer", reason=reason,
                                    answer=subject.answer, **common))
    assert subject.norm_working_days is not None  # the organisation file guarantees it
    # The term runs from receipt, on the Dutch calendar day, so a redelivery gets the same due date.
    received_on = question.received_at.astimezone(DUTCH_TIME).date()
    due = calendar.add_working_days(received_on, subject.norm_working_days)
    return _escalate(question_id, question, subject, how, due, common)


def _escalate(
    question_id: str, question: QuestionData, subject: Subject, how: str, due: dt.date, common: dict[str, Any]
) -> Routing:
    assert subject.case_type is not None
    case_id = case_id_for(question_id)
    reason = (
        f"Onderwerp '{subject.title}' ({_how_nl(how)}) vraagt om behandeling door de backoffice: "
        f"zaak {subject.case_type}, af te handelen binnen {subject.norm_working_days} werkdagen (uiterlijk {due:%d-%m-%Y})."
    )
    rule = "general-subject" if how == "general-subject" else "escalation"
    decision = DecisionData(outcome=Outcome.ESCALATED, rule=rule, reason=reason, case_id=case_id,
                            department=subject.department, **common)
    case = OpenCaseData(
        case_id=case_id,
        question_id=question_id,
        contact_id=question.contact_id,
        channel=question.channel,
        subject_code=subject.code,
        case_type=subject.case_type,
        department=subject.department,
        due_date=due,
        question=question.text,
        party=question.party,
        requested_at=common["decided_at"],
    )
    return Routing(decision, case)


def _how_nl(how: str) -> str:
    return {
        "subject-code": "onderwerpcode van het kanaal",
        "keyword-match": "herkend aan trefwoorden",
        "general-subject": "geen onderwerp herkend, naar de generalistenbalie",
    }[how]
