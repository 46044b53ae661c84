"""The shared API plumbing on a toy API: version header, problem+json for every error, I-JSON bodies within a
size limit, and the OAS 3.1 document it writes."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from fastapi import Depends, Header, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from plumbing import ijson
from plumbing.api import create_api
from plumbing.openapi import ApiInfo, error_statuses

INFO = ApiInfo(title="Toy", version="2.3.4", description="A toy API.", contact={"name": "n", "email": "e@x.example",
               "url": "https://x.example"}, tags=[{"name": "toys", "description": "Toys."}])
LIMIT = 2048


class Toy(BaseModel):
    name: str
    nickname: str | None = Field(None, max_length=20)


def toy_api():
    app = create_api(INFO, max_body_bytes=LIMIT)

    @app.post("/v2/toys", status_code=201, tags=["toys"], operation_id="postToy")
    async def post_toy(toy: Toy, colour: str | None = Header(None, max_length=5)) -> Toy:
        """Add a toy."""
        return toy

    async def worker(credentials: HTTPAuthorizationCredentials | None = Depends(HTTPBearer(auto_error=False))) -> str:
        if credentials is None:
            raise HTTPException(401, "no credentials", headers={"WWW-Authenticate": "Bearer"})
        if credentials.credentials != "worker":
            raise HTTPException(403, "not a worker")
        return credentials.credentials

    @app.get("/v2/toys/{toy_id}", tags=["toys"], operation_id="getToy")
    async def get_toy(toy_id: str, who: str = Depends(worker)) -> Toy:
        """One toy, for workers only."""
        if toy_id != "kite":
            raise HTTPException(404, "no such toy")
        return Toy(name=toy_id)

    @app.get("/v2/crash", include_in_schema=False)
    async def crash() -> None:
        raise RuntimeError("a bug with personal data 111222333 in its message")

    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=toy_api(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://toy") as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["api-version"] == "2.3.4"
    problem = response.json()
    assert problem["status"] == status and problem["type"] == "about:blank" and problem["title"] and problem["detail"]
    return problem


async def test_every_response_carries_the_full_api_version(client):
    ok = await client.post("/v2/toys", json={"name": "kite"})
    assert ok.status_code == 201 and ok.headers["api-version"] == "2.3.4"
    assert (await client.get("/v2/openapi.json")).headers["api-version"] == "2.3.4"


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("request_kwargs,status", [
    ({"method": "GET", "url": "/v2/nothing-here"}, 404),
    ({"method": "POST", "url": "/v2/toys/", "json": {"name": "kite"}}, 404),  # API-48: no redirect
    ({"method": "DELETE", "url": "/v2/toys"}, 405),
    ({"method": "POST", "url": "/v2/toys", "content": b"x" * (LIMIT + 1), "headers": JSON}, 413),
    ({"method": "POST", "url": "/v2/toys", "data": {"name": "kite"}}, 415),
    ({"method": "POST", "url": "/v2/toys", "content": b'{"name":"kite"}', "headers": {"content-type": "text/xml"}}, 415),
    ({"method": "POST", "url": "/v2/toys", "content": b'{"name":"kite"}',
      "headers": {"content-type": "application/json; charset=latin-1"}}, 415),
    ({"method": "POST", "url": "/v2/toys", "content": b'{"name"', "headers": JSON}, 400),
    ({"method": "POST", "url": "/v2/toys", "json": {"name": 3}}, 422),
    ({"method": "POST", "url": "/v2/toys", "json": {"name": "kite"}, "headers": {"colour": "ultraviolet"}}, 422),
    ({"method": "GET", "url": "/v2/crash"}, 500),
    ({"method": "GET", "url": "/v2/toys/kite"}, 401),
    ({"method": "GET", "url": "/v2/toys/kite", "headers": {"authorization": "Bearer visitor"}}, 403),
    ({"method": "GET", "url": "/v2/toys/yoyo", "headers": {"authorization": "Bearer worker"}}, 404),
])
async def test_every_error_is_problem_json_with_the_version(client, request_kwargs, status):
    assert_problem(await client.request(**request_kwargs), status)


async def test_a_405_names_the_allowed_methods(client):
    response = await client.delete("/v2/toys")
    assert response.headers["allow"] == "POST"


async def test_a_500_says_nothing_of_the_fault(client):
    problem = assert_problem(await client.get("/v2/crash"), 500)
    assert "111222333" not in json.dumps(problem) and "RuntimeError" not in json.dumps(problem)


async def test_a_chunked_body_is_refused_once_past_the_limit_without_reading_the_rest():
    pulled = 0

    async def whitespace_then_json():
        nonlocal pulled
        for _ in range(100 * 1024 * 1024 // 1024):  # 100 MB of white space, then a valid body
            pulled += 1024
            yield b" " * 1024
        yield b'{"name": "kite"}'

    transport = httpx.ASGITransport(app=toy_api())
    async with httpx.AsyncClient(transport=transport, base_url="http://toy") as client:
        response = await client.post("/v2/toys", content=whitespace_then_json(),
                                     headers={"content-type": "application/json"})
    assert_problem(response, 413)
    assert pulled <= LIMIT + 1024


@pytest.mark.parametrize("body,reason", [
    (b'{"name": "\\ud800"}', "unpaired surrogate"),
    (b'{"\\udfff": "kite"}', "unpaired surrogate"),
    (b'{"name": "kite\xff"}', "not UTF-8"),
    (b"[" * 1000 + b"]" * 1000, "deeper than"),
    (b"[" * 33 + b"]" * 33, "deeper than"),
    (b'{"name": "kite", "size": ' + b"9" * 5000 + b"}", "longer than"),
    (b'{"name": "kite", "size": 1e999}', "too large"),
    (b'{"name": "kite", "size": NaN}', "not a JSON number"),
    (b'{"name": "kite", "name": "ball"}', "same member name twice"),
    (b"\xef\xbb\xbf{}", "not JSON"),
])
def test_what_is_not_i_json_is_malformed(body, reason):
    with pytest.raises(ijson.MalformedJson, match=reason):
        ijson.loads(body)


def test_i_json_keeps_paired_surrogates_and_sane_numbers():
    assert ijson.loads(b'{"a": "\\ud83d\\ude00", "b": [1, 2.5, -3e10]}') == {"a": "\U0001F600", "b": [1, 2.5, -3e10]}


async def test_lone_surrogates_and_deep_nesting_are_a_400_never_a_500(client):
    for body in (b'{"name": "\\ud800"}', b"[" * 1000 + b"]" * 1000):
        assert_problem(await client.post("/v2/toys", content=body, headers={"content-type": "application/json"}), 400)


async def test_the_document_is_published_at_the_base_path_readable_from_any_origin(client):
    response = await client.get("/v2/openapi.json")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    document = response.json()
    assert document == (await client.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/v2", "description": document["servers"][0]["description"]}]
    assert list(document["paths"]) == ["/toys", "/toys/{toy_id}"]
    assert "HTTPValidationError" not in json.dumps(document)


async def test_the_document_declares_each_error_the_operation_can_return_as_problem_json(client):
    operation = (await client.get("/v2/openapi.json")).json()["paths"]["/toys"]["post"]
    assert sorted(operation["responses"]) == ["201", "400", "413", "415", "422", "500"]
    for status, response in operation["responses"].items():
        assert response["headers"]["API-Version"] == {"$ref": "#/components/headers/API-Version"}
        if status >= "400":
            problem_schema = {"schema": {"$ref": "#/components/schemas/Problem"}}
            assert response["content"] == {"application/problem+json": problem_schema}


def test_operations_with_identifiers_or_credentials_declare_404_401_403():
    operation = {"parameters": [{"in": "path", "name": "toyId"}], "responses": {}}
    assert error_statuses(operation, security=[{"oauth": []}]) == {401, 403, 404, 422, 500}


async def test_a_served_operation_with_credentials_and_an_identifier_declares_401_403_404_as_problem_json(client):
    operation = (await client.get("/v2/openapi.json")).json()["paths"]["/toys/{toy_id}"]["get"]
    assert {"401", "403", "404"} <= set(operation["responses"])
    for status in ("401", "403", "404"):
        assert operation["responses"][status]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert (await client.get("/v2/toys/kite", headers={"authorization": "Bearer worker"})).status_code == 200


async def test_the_document_keeps_pydantics_json_schema_and_no_parameter_is_ever_null(client):
    document = (await client.get("/v2/openapi.json")).json()
    nickname = document["components"]["schemas"]["Toy"]["properties"]["nickname"]
    assert nickname["anyOf"] == [{"type": "string", "maxLength": 20}, {"type": "null"}]  # OAS 3.1: no nullable
    colour = document["paths"]["/toys"]["post"]["parameters"][0]
    assert colour["schema"] == {"type": "string", "maxLength": 5, "title": "Colour"}  # absent, or a string


async def test_docs_work_offline_from_the_packaged_swagger_ui(client):
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/v2/openapi.json" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(assets) == 3 and not [a for a in assets if re.match(r"(https?:)?//", a)], assets
    for asset in assets:
        assert (await client.get(asset)).status_code == 200, asset
