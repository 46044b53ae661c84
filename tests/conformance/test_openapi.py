"""Every OAS 3.1 document Loket serves, checked by the standards' own tools: Spectral with our ruleset of the NL
API Design Rules (conformance/adr.spectral.yaml, on top of Spectral's own OpenAPI rules) and
openapi-spec-validator. No error and no warning is accepted. Plus /docs without internet, with a Swagger UI
that renders 3.1.

The documents are fetched over HTTP from the apps as the services build them (in-process, the intake with
a stand-in for Kafka); tests/integration/test_intake_schemathesis.py checks that the running intake serves
the very same document.
"""

from __future__ import annotations

import copy
import json
import re
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import jsonschema
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from pydantic import ValidationError

from schemas.intake import QuestionSubmission
from services.case.api import create_app as create_back_office
from services.case.auth import BackOfficeSettings
from services.case.settings import CaseSettings
from services.intake.http import API_VERSION, create_app
from services.intake.settings import IntakeSettings
from services.norms.http import create_http_app
from tests.tools import CONFORMANCE, findings_text, spectral_lint

RULESET = CONFORMANCE / "adr.spectral.yaml"


class _NoKafka:
    async def publish(self, topic, key, event) -> None:
        raise AssertionError("nothing is published here")


@asynccontextmanager
async def _no_kafka(settings, keys):
    yield _NoKafka()


class _BackOfficeSettings(CaseSettings, BackOfficeSettings):
    """The case service's settings with the back office's (whether or not CaseSettings has them already)."""


async def _ready() -> None:
    return None


def _apps():
    """Every HTTP app a Loket service serves (add new ones here, or their documents go unchecked)."""
    return {"intake": create_app(IntakeSettings(), _no_kafka), "norms": create_http_app(),
            "backoffice": create_back_office(_BackOfficeSettings(), lambda: None, _ready)}


async def _get(app, path: str) -> httpx.Response:
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://loket") as client:
            return await client.get(path)


async def _served_documents() -> dict[str, dict]:
    documents = {}
    for name, app in _apps().items():
        response = await _get(app, "/openapi.json")
        if response.status_code == 200:
            documents[name] = response.json()
    return documents


async def test_every_service_with_an_api_serves_its_document_and_its_docs():
    # The router and the case service's processor serve /metrics and /health only; the norms server's
    # thermometer and staffing JSON are an API.
    assert sorted(await _served_documents()) == ["backoffice", "intake", "norms"]
    for app in _apps().values():
        assert (await _get(app, "/docs")).status_code == 200


@pytest.mark.parametrize("service", ["intake", "backoffice", "norms"])
async def test_spectral_with_the_adr_ruleset_reports_nothing(service, tmp_path):
    document = tmp_path / f"{service}-openapi.json"
    document.write_text(json.dumps((await _served_documents())[service]), "utf-8")
    run, findings = spectral_lint(document, RULESET, tmp=tmp_path)
    assert not findings, findings_text(findings) + "\n" + run.report()
    assert run.returncode == 0, run.report()


@pytest.mark.parametrize("service", ["intake", "backoffice", "norms"])
async def test_openapi_spec_validator_finds_the_document_valid_as_oas_3_1(service):
    document = (await _served_documents())[service]
    assert document["openapi"] == "3.1.0"
    validate(document, cls=OpenAPIV31SpecValidator)


async def test_the_document_is_at_the_base_path_too_readable_from_any_origin():
    app = create_app(IntakeSettings(), _no_kafka)
    response = await _get(app, "/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["api-version"] == API_VERSION == response.json()["info"]["version"]
    assert response.json() == (await _get(app, "/openapi.json")).json()


async def test_the_document_declares_problem_json_for_every_error_and_no_fastapi_error_body():
    document = (await _served_documents())["intake"]
    assert "HTTPValidationError" not in json.dumps(document)
    assert "ValidationError" not in document["components"]["schemas"]
    responses = document["paths"]["/questions"]["post"]["responses"]
    assert sorted(responses) == ["202", "400", "401", "403", "413", "415", "422", "500", "503"]
    for status, response in responses.items():
        assert response["headers"]["API-Version"] == {"$ref": "#/components/headers/API-Version"}
        if int(status) >= 400:
            assert list(response["content"]) == ["application/problem+json"]
    assert document["servers"][0]["url"] == "/v1"
    assert document["info"]["license"] == {"name": "EUPL-1.2", "identifier": "EUPL-1.2"}  # SPDX, OAS 3.1
    assert set(document["info"]["contact"]) == {"name", "email", "url"}


async def test_the_document_states_the_rules_the_code_enforces():
    submission = (await _served_documents())["intake"]["components"]["schemas"]["QuestionSubmission"]
    rules = {rule["description"]: rule for rule in submission["allOf"]}
    assert {"required": ["subject_code"], "properties": {"subject_code": {"type": "string"}}} in rules[
        "Give subject_code or text (or both)."]["anyOf"]
    assert rules["agent_outcome only on a live channel (chat, counter, phone)."]["then"] == {
        "properties": {"channel": {"enum": ["chat", "counter", "phone"]}}}
    assert "received_at" in submission["properties"] and "LOKET_INTAKE_RECEIVED_AT_MAX_AGE_DAYS" in json.dumps(
        submission["properties"]["received_at"])


@pytest.mark.parametrize("body", [
    {"channel": "web", "text": "kliko"},
    {"channel": "web", "subject_code": "afval"},
    {"channel": "web"},
    {"channel": "web", "text": None, "subject_code": None},
    {"channel": "phone", "text": "kliko", "agent_outcome": "escalated"},
    {"channel": "web", "text": "kliko", "agent_outcome": "escalated"},
    {"channel": "letter", "subject_code": "afval", "agent_outcome": "answered"},
    {"channel": "web", "text": "kliko", "agent_outcome": None},
])
async def test_the_documents_schema_and_the_model_agree_on_the_rules_across_fields(body):
    components = (await _served_documents())["intake"]["components"]
    schema = {**components["schemas"]["QuestionSubmission"], "components": components}  # its $refs resolve here
    try:
        QuestionSubmission.model_validate(body)
        model_accepts = True
    except ValidationError:
        model_accepts = False
    assert jsonschema.Draft202012Validator(schema).is_valid(body) == model_accepts


def _broken(document: dict) -> dict[str, dict]:
    """Documents that between them break every ADR rule: in OAS 3.1 all but API-16, and API-16 by being 3.0."""
    broken = copy.deepcopy(document)
    question = broken["paths"]["/questions"]
    broken["paths"]["/submit-question/"] = {"post": {**question["post"], "operationId": "submit"}}
    broken["paths"]["/persoon/{bsn}"] = {"get": {
        "operationId": "getPerson", "description": "x", "tags": ["questions"],
        "parameters": [{"name": "bsn", "in": "path", "required": True, "description": "x",
                        "schema": {"type": "string"}}],
        "responses": {"200": {"description": "x"}, "404": {"description": "x", "content": {"application/json": {}}},
                      "500": {"description": "x", "content": {"application/problem+json": {"schema": {
                          "type": "object", "properties": {"title": {"type": "string"}}}}}}}}}
    question["trace"] = {"operationId": "traceQuestions", "responses": {"200": {"description": "x"}}}
    del broken["components"]["headers"]["API-Version"]["schema"]["pattern"]
    broken["info"]["license"] = {"name": "MIT", "identifier": "MIT"}
    broken["info"]["version"] = "2.0"
    del broken["info"]["description"]
    del broken["info"]["contact"]["email"]
    broken["servers"] = [{"url": "/api"}]
    without_servers = {key: value for key, value in copy.deepcopy(document).items() if key != "servers"}
    return {"oas31": broken, "oas31-without-servers": without_servers, "oas30": {**document, "openapi": "3.0.3"}}


async def test_the_ruleset_catches_what_the_adr_forbids_in_oas_3_1(tmp_path):
    caught: dict[str, set[str]] = {}
    for name, broken in _broken((await _served_documents())["intake"]).items():
        document = tmp_path / f"broken-{name}.json"
        document.write_text(json.dumps(broken), "utf-8")
        run, findings = spectral_lint(document, RULESET, tmp=tmp_path)
        assert run.returncode != 0 and findings, run.report()
        caught[name] = {f["code"] for f in findings}
    ruleset_rules = set(re.findall(r"^  (adr-[a-z0-9-]+):", RULESET.read_text("utf-8"), re.M))
    in_31 = caught["oas31"] | caught["oas31-without-servers"]
    api_16 = "adr-api-16-openapi-3"
    assert ruleset_rules - {api_16} <= in_31, f"silent on OAS 3.1: {sorted(ruleset_rules - {api_16} - in_31)}"
    assert api_16 not in in_31 and api_16 in caught["oas30"], caught
    for rule in ruleset_rules:
        assert re.search(rf"^  {rule}:\n    description: \"(API-\d\d|ADR )", RULESET.read_text("utf-8"),
                         re.M), f"{rule}'s description does not name the ADR rule it checks"


async def test_docs_work_without_internet():
    app = create_app(IntakeSettings(), _no_kafka)
    page = await _get(app, "/docs")
    assert page.status_code == 200
    assets = re.findall(r'<(?:script|link)[^>]*(?:src|href)="([^"]+)"', page.text)
    assert {Path(a).name for a in assets} == {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}
    assert not re.findall(r"(?:https?:)?//[^\s\"'<>]+", page.text), "an external URL in /docs"
    assert "url: '/v1/openapi.json'" in page.text
    for asset in assets:
        served = await _get(app, asset)
        assert served.status_code == 200 and served.content, asset
    bundle = (await _get(app, next(a for a in assets if a.endswith("/swagger-ui-bundle.js")))).text
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.\d+\.\d+"', bundle)
    assert version and version[1] == "5", "Swagger UI 4 and older render no OAS 3.1 document"
