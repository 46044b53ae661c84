"""The classifier against a labelled set of realistic citizen questions (tests/data/questions_nl.csv)."""

import csv
from pathlib import Path

from plumbing.organisation import load_organisation
from schemas import QuestionData
from services.router.domain.classifier import Classifier
from tests.builders import NOW

LABELLED = Path(__file__).resolve().parent.parent / "data" / "questions_nl.csv"
REQUIRED_ACCURACY = 0.90


def labelled_questions() -> list[dict[str, str]]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_labelled_set_is_large_and_names_only_catalog_subjects():
    organisation = load_organisation()
    rows = labelled_questions()
    assert len(rows) >= 200
    unknown = {row["subject"] for row in rows} - {s.code for s in organisation.subjects}
    assert not unknown, f"labels that are not subjects of the catalog: {sorted(unknown)}"


def test_classifier_accuracy_on_the_labelled_set():
    classifier = Classifier(load_organisation())
    rows = labelled_questions()
    misses = []
    for row in rows:
        question = QuestionData(contact_id="c", channel=row["channel"], text=row["question"], received_at=NOW)
        found, _ = classifier.classify(question)
        if found.code != row["subject"]:
            misses.append(f"  expected {row['subject']:<24} got {found.code:<24} {row['question']}")
    accuracy = 1 - len(misses) / len(rows)
    print(f"\nclassifier accuracy {accuracy:.1%} on {len(rows)} questions; misses:\n" + "\n".join(misses))
    assert accuracy >= REQUIRED_ACCURACY
