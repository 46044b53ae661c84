"""Shared behaviour of Loket's HTTP APIs, after the NL API Design Rules (ADR 2) and RFC 9457.

``create_api`` makes a FastAPI app on which every response carries ``API-Version`` (API-57), the routes
live under ``/v<major>`` (API-20) with no trailing-slash redirects (API-48), every error is
``application/problem+json`` (404, 405, 413, 415, 400, 422 and a last-resort 500 included), a JSON body
is read as I-JSON within a size limit, the OAS document is published at ``/v<major>/openapi.json``
(API-51) and Swagger UI 5 (which renders OAS 3.1) is served from a Python package, so ``/docs`` works without
internet.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from plumbing import ijson
from plumbing.openapi import API_VERSION_HEADER, PROBLEM_JSON, ApiInfo, build_document, title
from plumbing.settings import LoketSettings
from schemas.problem import FieldProblem, Problem

log = structlog.get_logger(__name__)
DOCS_ASSETS = "/docs/assets"
#: Swagger UI 5's files as the ``fastapi-offline`` package ships them (its code is not used): (package, folder).
SWAGGER_UI_FILES = ("fastapi_offline", "static")
#: Called with method, path and status of every response the API starts (for a service's own metrics).
ResponseObserver = Callable[[str, str, int], None]
#: The most a request line and its headers may take together: h11's limit under uvicorn (httptools has none).
MAX_HEADER_BYTES = 16 * 1024
#: After a 431: how much more of the request is read and dropped before reading stops, and how long the connection
#: stays open for the client to read the answer before it is cut.
REFUSED_DRAIN_BYTES = 1024 * 1024
REFUSED_DRAIN_SECONDS = 5.0


class ApiSettings(LoketSettings):
    """``LOKET_API_*``: who answers for the APIs, as every OAS document says (``info.contact``)."""

    api_contact_name: str = Field("Gemeente Zeventerpen", description="Who maintains the APIs.")
    api_contact_email: str = Field("api@zeventerpen.example", description="E-mail address for questions on the APIs.")
    api_contact_url: str = Field("https://zeventerpen.example/api", description="Web page about the APIs.")

    def contact(self) -> dict[str, str]:
        return {"name": self.api_contact_name, "email": self.api_contact_email, "url": self.api_contact_url}


class ContentTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"The body is larger than {limit} bytes.")


class ProblemResponse(JSONResponse):
    """``application/problem+json``; ASCII-escaped, so no character in it can break the encoding."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def problem_response(problem: Problem, version: str, headers: dict[str, str] | None = None) -> ProblemResponse:
    return ProblemResponse(problem.body(), status_code=problem.status,
                           headers={**(headers or {}), API_VERSION_HEADER: version})


def problem(status: int, detail: str, errors: list[FieldProblem] | None = None) -> Problem:
    """An ``about:blank`` problem: the title is the status phrase."""
    return Problem(title=title(status), status=status, detail=detail, errors=errors or [])


def create_api(info: ApiInfo, *, max_body_bytes: int, lifespan: Any = None,
               observe: ResponseObserver | None = None) -> FastAPI:
    """A FastAPI app with the shared behaviour; add the API's routes under ``info.base_path``."""
    app = FastAPI(title=info.title, version=info.version, description=info.description, lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    app.router.route_class = JsonBodyRoute
    add_problem_handlers(app, info.version)
    app.add_middleware(ApiMiddleware, version=info.version, max_body_bytes=max_body_bytes, observe=observe)
    document: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not document:
            document.update(build_document(app.routes, info))
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    openapi_url = f"{info.base_path}/openapi.json"

    @app.get(openapi_url, include_in_schema=False)
    @app.get("/openapi.json", include_in_schema=False)  # where FastAPI's users and tools look first
    def published() -> JSONResponse:
        # API-51: readable without credentials, and by a browser from any origin.
        return JSONResponse(app.openapi(), headers={"Access-Control-Allow-Origin": "*"})

    app.mount(DOCS_ASSETS, StaticFiles(packages=[SWAGGER_UI_FILES]), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{info.title} {info.version}",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},  # else Swagger UI asks an online validator
        )

    return app


def add_problem_handlers(app: FastAPI, version: str) -> None:
    """Every error as problem+json: HTTP errors, invalid requests, and a last-resort 500."""

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        status = exc.status_code
        own = exc.detail if isinstance(exc.detail, str) and exc.detail != title(status) else None
        return problem_response(problem(status, own or _DETAILS.get(status, title(status))), version, headers=exc.headers)

    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        fields = [FieldProblem(field=_field_path(e["loc"]), reason=_reason(e)) for e in exc.errors()]
        detail = "; ".join(f"{f.field}: {f.reason}" for f in fields)
        return problem_response(problem(422, detail, fields), version)

    async def server_error(request: Request, exc: Exception) -> Response:
        # Starlette's outermost middleware sends this, past ApiMiddleware: hence the header here too.
        log.error("request_failed", method=request.method, error=type(exc).__name__)
        return problem_response(problem(500, "A fault of ours; the request may not have taken effect."), version)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, server_error)


_DETAILS = {404: "There is no resource at this path.",
            405: "This resource does not allow this method; the Allow header lists the ones it does."}


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "(body)"


def _reason(error: dict[str, Any]) -> str:
    # pydantic puts what it quotes from the input after ": " (an e-mail validator's "...: '<'."); drop it.
    return error["msg"].removeprefix("Value error, ").split(": ", 1)[0]


class JsonBodyRoute(APIRoute):
    """A route with a body takes only ``application/json`` (else 415), read as I-JSON (else 400)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict(request: Request) -> Response:
            _require_json(request.headers)
            return await handler(_IJsonRequest(request.scope, request.receive))

        return strict


def _require_json(headers: Headers) -> None:
    content_type = email.message.Message()
    content_type["content-type"] = headers.get("content-type", "")
    charset = str(content_type.get_param("charset", "utf-8")).lower()
    encoding = headers.get("content-encoding", "identity").lower()
    if content_type.get_content_type() != "application/json" or charset not in ("utf-8", "utf8") \
            or encoding != "identity":
        raise HTTPException(415, detail="Send the body as application/json: UTF-8, not compressed.")


class _IJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = ijson.loads(await self.body())
            except ijson.MalformedJson as exc:
                raise HTTPException(400, detail=f"The body is not I-JSON (RFC 7493): {exc}.") from None
        return self._json


class ApiMiddleware:
    """``API-Version`` on every response, and the body limit: by Content-Length before anything is read,
    and by counting a chunked body as it streams in.

    Not Starlette's own body limiter: where a route never reads the body it answers in plain text.
    """

    def __init__(self, app: ASGIApp, *, version: str, max_body_bytes: int, observe: ResponseObserver | None) -> None:
        self.app = app
        self.version = version
        self.max_body_bytes = max_body_bytes
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_versioned(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[API_VERSION_HEADER] = self.version
                if self.observe is not None:
                    self.observe(scope["method"], scope["path"], message["status"])
            await send(message)

        received = 0

        async def receive_counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise ContentTooLarge(self.max_body_bytes)
            return message

        declared = Headers(scope=scope).get("content-length", "")
        too_large = declared.isdigit() and int(declared) > self.max_body_bytes
        try:
            if too_large:
                raise ContentTooLarge(self.max_body_bytes)
            await self.app(scope, receive_counted, send_versioned)
        except ContentTooLarge as exc:  # raised where no route's handler turned it into a problem
            if started:
                raise
            await problem_response(problem(413, str(exc.detail)), self.version)(scope, receive, send_versioned)


def header_limited_httptools(version: str) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with a limit on the request line and headers (``MAX_HEADER_BYTES``), which
    httptools lacks: it reads headers of any size before anything else sees them, and gathers a long header's
    pieces at a cost growing with the square of its size (a 16 MiB header held the event loop for a second). A
    request past the limit is answered 431 as problem+json, carrying ``version`` as ``API-Version``, and its
    connection closed. Pass the class as ``uvicorn.run(..., http=...)``."""
    response = _raw_problem(431, f"The request line and headers are larger than {MAX_HEADER_BYTES} bytes.", version)

    class HeaderLimitedHttpTools(HttpToolsProtocol):
        _in_headers = True  # until a request's headers are complete; again from the next request's first byte
        _header_bytes = 0
        _refused = False

        def on_message_begin(self) -> None:
            self._in_headers, self._header_bytes = True, 0
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_headers = False
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            if self._refused:  # what the client still sends is dropped unread, within bounds
                self._header_bytes += len(data)
                if self._header_bytes > REFUSED_DRAIN_BYTES:
                    self.transport.pause_reading()
                return
            super().data_received(data)
            if not self._in_headers or self.transport.is_closing():
                return
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._refuse()

        def _refuse(self) -> None:
            """Answer 431 and end the connection gently: closing a socket with unread data in it sends a reset,
            which can destroy the answer before the client reads it. So the write side is closed after the
            answer, and what still comes is read and dropped until the client closes. Past a megabyte the server
            stops reading instead (a client still sending then waits on full buffers, and can read the answer
            meanwhile); after five seconds the connection is cut. Cutting at the megabyte lost the answer when
            the kernels' buffers already held several of them."""
            log.warning("request_headers_too_large", limit_bytes=MAX_HEADER_BYTES)
            self._refused = True
            if self.cycle is not None and not self.cycle.response_complete:  # in the middle of another answer
                self.transport.abort()
                return
            self.transport.write(response)
            self.transport.write_eof()
            self.loop.call_later(REFUSED_DRAIN_SECONDS, self.transport.abort)

    return HeaderLimitedHttpTools


def _raw_problem(status: int, detail: str, version: str) -> bytes:
    """A whole HTTP/1.1 problem+json response that closes its connection, for where no app answers."""
    body = ProblemResponse(problem(status, detail).body()).body
    head = (f"HTTP/1.1 {status} {title(status)}\r\ncontent-type: {PROBLEM_JSON}\r\ncontent-length: {len(body)}\r\n"
            f"{API_VERSION_HEADER}: {version}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body
