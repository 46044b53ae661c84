"""The OAS document of a Loket API: what the ADR asks of it, and every error the operation can return.

We publish OAS 3.1.0 as FastAPI writes it, whose schemas are pydantic's JSON Schema (2020-12) unchanged,
and change only what the ADR and our error handling ask: problem+json instead of FastAPI's validation-error
bodies, the API-Version header on every response, the servers at ``/v<major>``, contact and licence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from schemas.problem import Problem

PROBLEM_JSON = "application/problem+json"
API_VERSION_HEADER = "API-Version"
OAS_VERSION = "3.1.0"
SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
#: OAS 3.1 names a licence by its SPDX identifier (and then allows no ``url`` beside it).
EUPL = {"name": "EUPL-1.2", "identifier": "EUPL-1.2"}

#: RFC 9110's phrases (Python 3.11's ``HTTPStatus`` still has the older ones for 413 and 422).
TITLES = {413: "Content Too Large", 422: "Unprocessable Content"}
#: What each error means in every Loket API; an operation may say more in its own ``responses``.
ERROR_DESCRIPTIONS = {
    400: "The body is not I-JSON (RFC 7493): not UTF-8, not JSON, a lone surrogate, a duplicate name, a number "
         "too long or nesting too deep.",
    401: "No valid credentials were given.",
    403: "The credentials do not allow this operation.",
    404: "There is no such resource.",
    413: "The body is larger than this API accepts.",
    415: "The body is not sent as application/json (UTF-8, not compressed).",
    422: "The request breaks a rule of this document; `errors` names each field at fault.",
    500: "A fault of ours; the request may not have taken effect. It has been logged.",
    503: "A service this operation needs is unavailable; try again later.",
}


def title(status: int) -> str:
    """The problem title for ``about:blank``: the status phrase."""
    return TITLES.get(status) or HTTPStatus(status).phrase


@dataclass(frozen=True)
class ApiInfo:
    """What a Loket API says about itself; ``version`` is the full semantic version (ADR API-56)."""

    title: str
    version: str
    description: str
    contact: dict[str, str]
    tags: list[dict[str, str]] = field(default_factory=list)

    @property
    def base_path(self) -> str:
        """``/v<major>``: the major version in the URI (ADR API-20)."""
        return f"/v{self.version.split('.')[0]}"


def build_document(routes: list[Any], info: ApiInfo) -> dict[str, Any]:
    """The OAS 3.1.0 document of the API routes (those under ``info.base_path``, in the schema)."""
    documented = [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]
    outside = [r.path for r in documented if not r.path.startswith(f"{info.base_path}/")]
    if outside:
        raise ValueError(f"documented routes outside {info.base_path}: {outside}")
    raw = get_openapi(title=info.title, version=info.version, openapi_version=OAS_VERSION,
                      description=info.description, routes=documented,
                      tags=info.tags or None, contact=info.contact, license_info=EUPL,
                      servers=[{"url": info.base_path, "description": "This service, on the host that serves this "
                                "document."}])
    schemas = raw.setdefault("components", {}).setdefault("schemas", {})
    for fastapi_own in ("HTTPValidationError", "ValidationError"):
        schemas.pop(fastapi_own, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    raw["components"]["headers"] = {API_VERSION_HEADER: _version_header(info.version)}
    raw["paths"] = {path.removeprefix(info.base_path): item for path, item in raw["paths"].items()}
    for operation in _operations(raw):
        _document_responses(operation, raw.get("security"))
        for parameter in operation.get("parameters", []):
            if "schema" in parameter:
                parameter["schema"] = _never_null(parameter["schema"])
    return raw


def _version_header(version: str) -> dict[str, Any]:
    return {"description": "The full version of the API, semantic versioning (ADR API-57).", "required": True,
            "schema": {"type": "string", "pattern": SEMVER_PATTERN, "examples": [version]}}


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without pydantic's null alternative: an optional parameter is absent, never null."""
    alternatives = [s for s in schema.get("anyOf", []) if s != {"type": "null"}]
    if "anyOf" not in schema or len(alternatives) == len(schema["anyOf"]):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf"}
    return {**alternatives[0], **rest} if len(alternatives) == 1 else {**rest, "anyOf": alternatives}


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in document["paths"].values():
        for method in ("get", "put", "post", "delete", "patch"):
            if method in item:
                yield item[method]


def error_statuses(operation: dict[str, Any], security: object = None) -> set[int]:
    """The errors the shared plumbing can answer for this operation, besides those it declares itself."""
    statuses = {500}
    parameters = operation.get("parameters", [])
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if parameters:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    if operation.get("security", security):
        statuses |= {401, 403}
    return statuses


def _document_responses(operation: dict[str, Any], security: object) -> None:
    responses = operation["responses"]
    for status, response in list(responses.items()):
        if int(status) >= 400 and "HTTPValidationError" in str(response):
            del responses[status]
    declared = {int(s) for s in responses if int(s) >= 400}
    for status in sorted(error_statuses(operation, security) | declared):
        own = responses.get(str(status), {})
        responses[str(status)] = {
            "description": own.get("description") or ERROR_DESCRIPTIONS.get(status, title(status)),
            "headers": own.get("headers", {}),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    for response in responses.values():
        response.setdefault("headers", {})[API_VERSION_HEADER] = {"$ref": f"#/components/headers/{API_VERSION_HEADER}"}
    operation["responses"] = dict(sorted(responses.items()))
