"""What the router remembers per party (by pseudonym), so that a citizen asks only once.

Lives in a faust table keyed like the contacts topic, so it is local to the partition; it survives
restarts through the table's changelog topic.
"""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, ConfigDict

#: A contact on the same subject within this window counts as "had to tell the story again".
REPEAT_WINDOW = dt.timedelta(days=7)
#: Most recent contacts remembered per party.
RECENT_LIMIT = 20
#: Most recent handled questions remembered per party, to recognise a redelivery.
HANDLED_LIMIT = 50


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenCaseRef(_State):
    """A case the router opened (or linked) for this party and has not seen resolved."""

    case_id: str
    subject_code: str
    opened_by: str  # key (source and id) of the question that opened it: its redelivery is no second question
    due_date: dt.date


class Handled(_State):
    """How a question was decided, so that its redelivery gets the same decision, whatever came since."""

    question_key: str
    outcome: str
    case_id: str | None = None
    due_date: dt.date | None = None
    repeat_contact: bool = False


class RecentContact(_State):
    question_id: str  # the question's key: source and id
    subject_code: str
    received_at: AwareDatetime


class PartyState(_State):
    """One party's open cases per subject and recent contacts."""

    open_cases: tuple[OpenCaseRef, ...] = ()
    recent: tuple[RecentContact, ...] = ()
    handled: tuple[Handled, ...] = ()

    def handled_for(self, question_key: str) -> Handled | None:
        return next((h for h in self.handled if h.question_key == question_key), None)

    def with_handled(self, handled: Handled) -> "PartyState":
        return self.model_copy(update={"handled": (*self.handled, handled)[-HANDLED_LIMIT:]})

    def without_subject(self, subject_code: str) -> "PartyState":
        return self.model_copy(update={"open_cases": tuple(c for c in self.open_cases
                                                           if c.subject_code != subject_code)})

    def open_case_for(self, subject_code: str) -> OpenCaseRef | None:
        return next((c for c in self.open_cases if c.subject_code == subject_code), None)

    def is_repeat(self, subject_code: str, question_id: str, received_at: dt.datetime) -> bool:
        """Did the party contact us on this subject in the window before this question (itself excluded)?"""
        return any(
            c.subject_code == subject_code and c.question_id != question_id
            and dt.timedelta(0) <= received_at - c.received_at <= REPEAT_WINDOW
            for c in self.recent
        )

    def with_case(self, case: OpenCaseRef) -> "PartyState":
        others = tuple(c for c in self.open_cases if c.subject_code != case.subject_code)
        return self.model_copy(update={"open_cases": (*others, case)})

    def without_case(self, case_id: str) -> "PartyState":
        return self.model_copy(update={"open_cases": tuple(c for c in self.open_cases if c.case_id != case_id)})

    def with_contact(self, contact: RecentContact) -> "PartyState":
        """Remember a contact (once per question id), forgetting what left the window."""
        kept = [c for c in self.recent if c.question_id != contact.question_id
                and contact.received_at - c.received_at <= REPEAT_WINDOW]
        recent = sorted([*kept, contact], key=lambda c: c.received_at)[-RECENT_LIMIT:]
        return self.model_copy(update={"recent": tuple(recent)})

    @property
    def empty(self) -> bool:
        return not self.open_cases and not self.recent
