"""The OAS document of a Loket API: what the ADR asks of it, and every error the operation can return.

FastAPI writes OAS 3.1 with its own validation-error bodies. We publish OAS 3.0.3 instead: the Swagger UI
served offline (from the ``swagger-ui-bundle`` package, 4.15) renders 3.0 documents only, and ADR 2.0's
own linter asks for 3.0. ``as_oas30`` turns the few 3.1 forms pydantic writes into their 3.0 spelling and
refuses any other, so a new model cannot silently make the document invalid.
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
OAS_VERSION = "3.0.3"
SEMVER_PATTERN = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
EUPL = {"name": "EUPL-1.2", "url": "https://interoperable-europe.ec.europa.eu/collection/eupl/eupl-text-eupl-12"}

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
_31_ONLY = {"if", "then", "else", "$defs", "prefixItems", "unevaluatedProperties", "dependentRequired",
            "dependentSchemas", "contentMediaType", "contentEncoding", "examples", "$schema", "$id"}


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
    """The OAS 3.0.3 document of the API routes (those under ``info.base_path``, in the schema)."""
    documented = [r for r in routes if isinstance(r, APIRoute) and r.include_in_schema]
    outside = [r.path for r in documented if not r.path.startswith(f"{info.base_path}/")]
    if outside:
        raise ValueError(f"documented routes outside {info.base_path}: {outside}")
    raw = get_openapi(title=info.title, version=info.version, description=info.description, routes=documented,
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
    return as_oas30(raw)


def _version_header(version: str) -> dict[str, Any]:
    return {"description": "The full version of the API, semantic versioning (ADR API-57).", "required": True,
            "schema": {"type": "string", "pattern": SEMVER_PATTERN, "example": version}}


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


def as_oas30(document: dict[str, Any]) -> dict[str, Any]:
    """The document in OAS 3.0.3: ``nullable`` for a null alternative, ``enum`` for ``const``."""
    schemas = document["components"]["schemas"]
    for container in _schema_containers(document):
        container["schema"] = _schema30(container["schema"], schemas)
        if "in" in container:  # a parameter: absent or a string, never null
            container["schema"].pop("nullable", None)
    document["components"]["schemas"] = {name: _schema30(s, schemas) for name, s in schemas.items()}
    document["openapi"] = OAS_VERSION
    return document


def _schema_containers(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every object with a ``schema`` member: parameters, media types, headers."""
    pending: list[Any] = [document["paths"], document["components"].get("headers", {})]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if isinstance(node.get("schema"), dict):
                yield node
            pending.extend(v for k, v in node.items() if k != "schema")
        elif isinstance(node, list):
            pending.extend(node)


def _schema30(schema: Any, named: dict[str, Any]) -> Any:
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    for key in ("properties", "patternProperties"):
        if key in schema:
            schema[key] = {name: _schema30(s, named) for name, s in schema[key].items()}
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            schema[key] = _schema30(schema[key], named)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            schema[key] = [_schema30(s, named) for s in schema[key]]
    if isinstance(schema.get("type"), list) or _31_ONLY & schema.keys():
        raise ValueError(f"no OAS 3.0 form for this schema: {sorted(schema)}")
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    alternatives = schema.get("anyOf", [])
    if {"type": "null"} in alternatives:
        rest = [s for s in alternatives if s != {"type": "null"}]
        del schema["anyOf"]
        schema = {**rest[0], **schema} if len(rest) == 1 else {**schema, "anyOf": rest}
        schema["nullable"] = True
    if "$ref" in schema and len(schema) > 1:
        # OAS 3.0 ignores a $ref's siblings, and ``nullable`` counts only beside an explicit ``type``.
        reference = schema.pop("$ref")
        target = named.get(reference.rsplit("/", 1)[-1], {})
        schema = {**({"type": target["type"]} if "type" in target else {}), "allOf": [{"$ref": reference}], **schema}
    return schema
