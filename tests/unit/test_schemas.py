"""The contract: envelope rules, round trips, and the exported files matching the models."""

import datetime as dt

import pytest
from pydantic import ValidationError

from schemas import QuestionAsked, QuestionData, RoutingDecided
from schemas.envelope import source_urn
from schemas.export import stale_files

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)
SOURCE = source_urn("00000001999999999000", "loket-intake")


def question(**attrs) -> QuestionAsked:
    data = QuestionData(contact_id="c-1", channel="phone", text="Mijn kliko is kapot", received_at=NOW)
    return QuestionAsked.create(source=SOURCE, data=data, subject="c-1", **{"time": NOW, **attrs})


def test_event_round_trips_through_its_wire_bytes():
    event = question()
    assert QuestionAsked.model_validate_json(event.to_bytes()) == event


def test_event_type_is_fixed_per_class():
    assert question().type == "nl.loket.contacts.question-asked"
    with pytest.raises(ValidationError):
        RoutingDecided.model_validate_json(question().to_bytes())


def test_source_must_be_an_nl_gov_urn():
    with pytest.raises(ValidationError, match="source"):
        QuestionAsked.create(source="loket-intake", data=question().data)


def test_time_must_carry_a_timezone():
    with pytest.raises(ValidationError, match="time"):
        question(time=dt.datetime(2026, 11, 23, 9, 30))


def test_unknown_extension_attributes_are_tolerated():
    wire = question().to_bytes().replace(b'"specversion"', b'"traceparent":"00-ab","specversion"')
    assert QuestionAsked.model_validate_json(wire).data.contact_id == "c-1"


def test_events_are_frozen():
    with pytest.raises(ValidationError):
        question().id = "other"  # type: ignore[misc]


def test_committed_json_schemas_and_asyncapi_match_the_models():
    stale = stale_files()
    assert not stale, f"run `loket schemas export` and commit: {[p.name for p in stale]}"


def test_a_submission_reads_back_its_own_dump_a_python_caller_hands_on():
    from schemas.intake import QuestionSubmission

    submission = QuestionSubmission(channel="phone", text="Mijn kliko is kapot", received_at=NOW)
    assert QuestionSubmission.model_validate(submission.model_dump()) == submission
