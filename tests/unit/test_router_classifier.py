"""Classification: subject code, normalised keywords, compounds, phrases, tie-breaking, fallback."""

import pytest

from schemas import QuestionData
from services.router.domain.classifier import Classifier, stems
from tests.builders import NOW
from tests.org import TEST_ORGANISATION

CLASSIFIER = Classifier(TEST_ORGANISATION)


def classify(text=None, subject_code=None):
    subject, how = CLASSIFIER.classify(QuestionData(contact_id="c", channel="web", text=text,
                                                    subject_code=subject_code, received_at=NOW))
    return subject.code, how


def test_channel_subject_code_wins_over_text():
    assert classify("mijn kliko is kapot", subject_code="grofvuil") == ("grofvuil", "subject-code")


def test_unknown_subject_code_falls_back_to_the_text():
    assert classify("mijn kliko is kapot", subject_code="bestaat-niet") == ("container", "keyword-match")


@pytest.mark.parametrize("text", ["Hoe vraag ik een PASPOÖRT aan?", "paspoorten voor de kinderen", "paspoort"])
def test_keywords_match_without_case_accents_or_plural(text):
    assert classify(text) == ("paspoort", "keyword-match")


def test_a_keyword_matches_the_tail_of_a_compound_word():
    assert classify("waar regel ik een bewonersvergunning")[0] == "parkeervergunning"


def test_phrases_weigh_as_many_points_as_they_have_words():
    # 'bel mij terug' (3 points) beats 'kliko' + 'kapot' (2 points).
    assert classify("mijn kliko is kapot, bel mij terug")[0] == "terugbelverzoek"


def test_most_points_win():
    assert classify("de kliko is kapot en het deksel ook, en dan nog een bankstel")[0] == "container"


def test_a_tie_goes_to_the_subject_listed_first():
    assert classify("container ophalen")[0] == "container"  # one point each; container is listed first


def test_no_match_goes_to_the_general_subject():
    assert classify("Ik heb een vraag over de bomen in mijn straat") == ("algemeen", "general-subject")


def test_stems_are_dutch():
    assert stems("Aanvragen aanvraag kapotte") == ["aanvraag", "aanvraag", "kapot"]
