"""Shared plumbing: dead letters, working days, migrations discovery, the organisation file."""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest

from plumbing.calendar import WorkingDayCalendar
from plumbing.deadletters import Refused, dead_letter, decode
from plumbing.exceptions import MigrationFailed
from plumbing.migrate import discover
from plumbing.organisation import OrganisationFileError, load_organisation
from schemas import QuestionAsked
from tests.builders import NOW, SOURCE


def test_refusal_names_the_fields_without_echoing_their_values():
    raw = b'{"specversion":"1.0","id":"x","source":"urn:nld:oin:00000001999999999000:systeem:t",' \
          b'"type":"nl.loket.contacts.question-asked","data":{"contact_id":"c","channel":"fax","text":"BSN 111222333",' \
          b'"received_at":"2026-11-23T10:00:00Z"}}'
    with pytest.raises(Refused) as refused:
        decode(QuestionAsked, raw)
    assert "data.channel" in refused.value.reason
    assert "fax" not in refused.value.reason and "111222333" not in refused.value.reason


@pytest.mark.parametrize("raw,reason", [(b"\xff\xfe not json", "Invalid JSON"), (None, "empty record")])
def test_undecodable_records_are_refused_with_a_reason(raw, reason):
    with pytest.raises(Refused, match=reason):
        decode(QuestionAsked, raw)


def test_dead_letter_keeps_the_original_bytes_and_where_they_came_from():
    record = SimpleNamespace(topic="loket.contacts.v1", partition=3, offset=41, key=b"k", value=b"\x00\xffpoison")
    letter = dead_letter(record, source=SOURCE, consumer="router", reason="bad", now=NOW)
    assert letter.subject == "loket.contacts.v1:3:41"
    assert letter.data.original_value() == b"\x00\xffpoison"
    assert (letter.data.source_topic, letter.data.partition, letter.data.offset) == ("loket.contacts.v1", 3, 41)


def test_working_days_skip_weekends_holidays_and_closing_days():
    calendar = WorkingDayCalendar([dt.date(2026, 4, 28)])
    assert calendar.add_working_days(dt.date(2026, 4, 24), 1) == dt.date(2026, 4, 29)  # Fri → (27 King's Day, 28 closed)
    assert not calendar.is_working_day(dt.date(2026, 11, 28))  # Saturday
    assert calendar.add_working_days(dt.date(2026, 11, 23), 0) == dt.date(2026, 11, 23)


def test_migrations_are_found_in_version_order(tmp_path: Path):
    (tmp_path / "0002_more.sql").write_text("SELECT 1;")
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    assert [m.version for m in discover(tmp_path)] == ["0001", "0002"]


def test_badly_named_migration_is_an_error_not_ignored(tmp_path: Path):
    (tmp_path / "cases.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationFailed, match="NNNN_description"):
        discover(tmp_path)


def test_wrong_organisation_file_names_file_key_and_reason(tmp_path: Path):
    path = tmp_path / "org.toml"
    path.write_text('name = "X"\ngeneral_subject = "algemeen"\ncallback_subject = "algemeen"\n'
                    '[desks]\ngeneralist = "a"\ncomplaints = "a"\nregistry = "a"\nideas = "a"\n'
                    '[[departments]]\ncode = "a"\nname = "A"\n'
                    '[[subjects]]\ncode = "algemeen"\ntitle = "Algemeen"\ndepartment = "b"\n'
                    'case_type = "vraag"\nnorm_working_days = 3\n')
    with pytest.raises(OrganisationFileError) as error:
        load_organisation(path)
    assert "org.toml" in str(error.value) and "unknown department 'b'" in str(error.value)


def test_a_subject_needs_one_way_to_be_handled(tmp_path: Path):
    path = tmp_path / "org.toml"
    path.write_text('name = "X"\ngeneral_subject = "algemeen"\ncallback_subject = "algemeen"\n'
                    '[desks]\ngeneralist = "a"\ncomplaints = "a"\nregistry = "a"\nideas = "a"\n'
                    '[[departments]]\ncode = "a"\nname = "A"\n'
                    '[[subjects]]\ncode = "leeg"\ntitle = "Leeg"\ndepartment = "a"\n'
                    '[[subjects]]\ncode = "algemeen"\ntitle = "Algemeen"\ndepartment = "a"\n'
                    'case_type = "vraag"\nnorm_working_days = 3\n')
    with pytest.raises(OrganisationFileError, match="'leeg' needs an answer, a case_type or a referral"):
        load_organisation(path)


def test_the_example_organisation_loads():
    assert load_organisation().subject("algemeen") is not None


def test_a_record_the_handler_fails_on_is_parked_not_lost():
    from plumbing.deadletters import guarded

    def crashes(record):
        raise KeyError("the handler has a bug")

    record = SimpleNamespace(topic="t", partition=0, offset=7, key=None, value=b"{}")
    [parked] = guarded(crashes, record, dead_letters="dl", source=SOURCE, consumer="router")
    from schemas import DeadLetter

    letter = DeadLetter.model_validate_json(parked.value)
    assert (parked.topic, parked.key, parked.partition) == ("dl", b"t:0:7", None)
    assert dict(parked.headers)["content-type"].startswith(b"application/cloudevents+json")
    assert letter.data.reason == "unexpected KeyError in router"


def test_a_huge_poison_record_is_parked_with_its_head_and_size():
    from plumbing.deadletters import MAX_KEPT_BYTES

    record = SimpleNamespace(topic="t", partition=0, offset=1, key=b"k", value=b"x" * (MAX_KEPT_BYTES * 4))
    letter = dead_letter(record, source=SOURCE, consumer="router", reason="too big", now=NOW)
    assert letter.data.value_truncated and letter.data.value_size == MAX_KEPT_BYTES * 4
    assert len(letter.data.original_value()) == MAX_KEPT_BYTES
    assert len(letter.to_bytes()) < 2 * MAX_KEPT_BYTES


def test_a_library_saying_the_same_thing_on_every_retry_is_heard_once_a_minute_with_a_count():
    import logging

    from plumbing.logging import OncePerInterval

    clock = [0.0]
    once = OncePerInterval(("aiokafka",), interval=60, clock=lambda: clock[0])

    def say(name="aiokafka.conn", msg="Unable connect to node with id %s: %s"):
        return once.filter(logging.LogRecord(name, logging.ERROR, "f", 1, msg, (1, "refused"), None))

    assert say() and not say() and not say() and say(msg="Another complaint %s: %s")
    assert say(name="loket.router")  # our own lines are never held back
    clock[0] = 61.0
    record = logging.LogRecord("aiokafka.conn", logging.ERROR, "f", 1, "Unable connect to node with id %s: %s",
                               (1, "refused"), None)
    assert once.filter(record) and "2 like it in the last 60s not logged" in record.getMessage()
