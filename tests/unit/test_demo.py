"""What ``loket demo`` shows that needs no servers: the curl it suggests, and which decisions it lists."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

from loket.demo import ask_command, department_column, one_per_question
from schemas import DecisionData
from schemas.contacts import Channel
from schemas.decisions import Outcome
from services.intake.auth import ChannelSystem, development_token
from services.intake.settings import IntakeSettings
from tests.readme import code_block


WEBSITE_TOKEN = development_token(ChannelSystem.WEBSITE)


def _default_ask_command() -> str:
    fields = IntakeSettings.model_fields
    return ask_command(fields["intake_host"].default, fields["intake_port"].default, WEBSITE_TOKEN)


def test_readme_shows_the_curl_the_demo_suggests_for_the_default_address():
    assert code_block("curl ") == _default_ask_command()


def test_suggested_curl_fits_an_80_column_terminal_even_with_a_long_address():
    for command in (_default_ask_command(), ask_command("127.0.0.1", 65535, WEBSITE_TOKEN)):
        assert max(len(line) for line in command.splitlines()) <= 80, command


def test_suggested_curl_pasted_to_a_shell_posts_the_question_as_json_as_the_website():
    # The shell's own reading of the pasted lines: a stand-in `curl` prints the words it would get.
    script = "curl() { printf '%s\\0' \"$@\"; }\n" + code_block("curl ") + "\n"
    words = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split("\0")[:-1]
    assert words[:4] == ["-s", "-X", "POST", "http://127.0.0.1:8080/v1/questions"]
    assert words[4:6] == ["-H", f"authorization: Bearer {WEBSITE_TOKEN}"]
    assert words[6:8] == ["-H", "content-type: application/json"]
    assert words[8] == "-d"
    assert json.loads(words[9]) == {"channel": "web", "text": "mijn kliko is kapot", "party": {"bsn": "111222333"}}
    assert len(words) == 10


def test_decisions_shown_are_the_first_of_each_different_question():
    text_of = {"c1": "kliko kapot", "c2": "paspoort", "c3": "kliko kapot", "c4": "grofvuil", "c5": "afval"}
    assert one_per_question(["c1", "c2", "c3", "c4", "c5"], text_of, limit=3) == ["c1", "c2", "c4"]
    assert one_per_question(["c3", "c1"], text_of, limit=8) == ["c3"]


def _decision(outcome: Outcome, **data: object) -> DecisionData:
    return DecisionData(question_id="q", contact_id="c", channel=Channel.WEB, subject_code="container-kapot",
                        outcome=outcome, rule="escalation", reason="r", decided_at=dt.datetime.now(dt.UTC), **data)


def test_department_column_names_who_has_the_question_and_never_guesses():
    assert department_column(_decision(Outcome.ESCALATED, case_id="z", department="openbare-ruimte")) == \
        "openbare-ruimte"
    assert department_column(_decision(Outcome.ANSWERED)) == "front office"
    assert department_column(_decision(Outcome.LINKED, case_id="z")) == "—"  # the decision does not say
