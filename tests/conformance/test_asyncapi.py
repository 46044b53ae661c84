"""The AsyncAPI document, checked by the standard's own tools: the official AsyncAPI CLI and Spectral's
``spectral:asyncapi`` ruleset. No error and no warning is accepted."""

import json

import pytest

from schemas.export import ASYNCAPI_FILE
from schemas.topics import ALL_TOPICS
from tests.tools import CONFORMANCE, findings_text, run_tool, spectral_lint

DOCUMENT = json.loads(ASYNCAPI_FILE.read_text("utf-8"))


def test_the_asyncapi_cli_finds_the_document_valid_without_warnings(tmp_path):
    run = run_tool("asyncapi", "validate", ASYNCAPI_FILE, "--fail-severity", "warn", tmp=tmp_path)
    assert run.returncode == 0 and "is valid" in run.output, run.report()
    assert "governance issues" not in run.output.replace("don't have governance issues", ""), run.report()


def test_spectral_asyncapi_ruleset_reports_no_error_and_no_warning(tmp_path):
    run, findings = spectral_lint(ASYNCAPI_FILE, CONFORMANCE / "asyncapi.spectral.yaml", tmp=tmp_path)
    serious = [f for f in findings if f.get("severity") in (0, 1)]
    assert not serious, findings_text(serious) + "\n" + run.report()
    assert run.returncode in (0, 1), run.report()  # 1: only infos and hints, which are listed but allowed


def test_the_document_is_asyncapi_3_1_with_servers_contact_and_licence():
    assert DOCUMENT["asyncapi"] == "3.1.0"
    assert DOCUMENT["servers"] and DOCUMENT["info"]["contact"] and DOCUMENT["info"]["license"]


@pytest.mark.parametrize("topic", ALL_TOPICS, ids=lambda t: t.name)
def test_every_channel_says_which_service_sends_and_which_receives(topic):
    on_channel = [op for op in DOCUMENT["operations"].values() if op["channel"]["$ref"].endswith(
        next(k for k, c in DOCUMENT["channels"].items() if c["address"] == topic.name))]
    senders = {op["tags"][0]["name"] for op in on_channel if op["action"] == "send"}
    receivers = {op["tags"][0]["name"] for op in on_channel if op["action"] == "receive"}
    assert senders == set(topic.senders) and senders
    assert receivers == set(topic.receivers)


def test_every_payload_declares_its_schema_format():
    for message in DOCUMENT["components"]["messages"].values():
        assert message["payload"]["schemaFormat"] == "application/schema+json;version=draft-07"
        assert message["headers"]["properties"]["content-type"]["const"].startswith("application/cloudevents+json")
