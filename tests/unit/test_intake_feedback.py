"""A satisfaction score (KTO) as the survey tool submits it, and its event, without a network."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from schemas.feedback import SatisfactionScored
from schemas.intake import ScoreSubmission
from services.intake.domain import score_event
from tests.builders import NOW, SOURCE


def body(**fields) -> str:
    return json.dumps({"response_id": "kto-1", "contact_id": "c-1", "channel": "phone", "score": 8, **fields})


def score(**fields) -> ScoreSubmission:
    return ScoreSubmission.model_validate_json(body(**fields))


def test_a_score_becomes_its_event_keyed_by_the_rated_contact():
    event = score_event(score(scored_at="2026-11-23T10:00:00+01:00"), source=SOURCE, now=NOW)
    assert isinstance(event, SatisfactionScored) and event.subject == "c-1"
    assert (event.data.score, event.data.channel, event.data.response_reference) == (8, "phone", "kto-1")
    assert event.data.scored_at.isoformat() == "2026-11-23T10:00:00+01:00"


def test_a_score_without_its_time_is_given_now_and_the_same_response_is_the_same_event():
    first, again = score_event(score(), source=SOURCE, now=NOW), score_event(score(), source=SOURCE, now=NOW)
    assert first.data.scored_at == NOW and first.id == again.id
    assert score_event(score(response_id="kto-2"), source=SOURCE, now=NOW).id != first.id


@pytest.mark.parametrize("fields", [{"score": 0}, {"score": 11}, {"score": 7.5}, {"score": True}, {"score": "8"},
                                    {"channel": "fax"}, {"scored_at": "1700000000"}, {"response_id": "a b"}],
                         ids=["0", "11", "fraction", "bool", "string", "channel", "unix time", "id"])
def test_a_score_out_of_its_rules_is_refused(fields):
    with pytest.raises(ValidationError):
        score(**fields)


def test_a_whole_number_written_with_a_fraction_is_a_whole_number():
    assert score(score=8.0).score == 8
