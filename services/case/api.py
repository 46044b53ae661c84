"""The back-office HTTP API: a worker's cases and their changes, a party's klantbeeld, and the access log of
personal-data reads; with the shared API behaviour of ``plumbing.api``, and the service's health and metrics."""

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import asyncpg
import structlog
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from pydantic import BeforeValidator, ConfigDict, EmailStr, Field, field_validator, model_validator

from plumbing.api import create_api, problem, problem_response
from plumbing.calendar import TermCalendar, dutch_day
from plumbing.health import RETRY_AFTER_SECONDS, ReadyCheck, add_health_endpoints
from plumbing.http import add_metrics_endpoint
from plumbing.openapi import ApiInfo
from plumbing.organisation import CODE, load_organisation
from plumbing.pseudonym import IdentifierKind, bsn_is_valid, normalise_email, normalise_phone, pseudonym
from plumbing.retry import database_away
from schemas.envelope import Frozen, Text, source_urn
from schemas.intake import NOT_BLANK_PATTERN
from services.case.auth import authenticated
from services.case.backoffice import (BackOffice, CaseDetail, CaseFilter, CaseNotFound, CaseParty, CaseSummary,
                                      Klantbeeld, PersonalDataRead, StatusFilter, VersionMismatch)
from services.case.commands import CaseRules, Conflict, Invalid, NotAllowed, Outcome, Worker

if TYPE_CHECKING:
    from services.case.settings import CaseSettings

log = structlog.get_logger(__name__)
#: Semantic version of the back-office API (ADR API-56); its major version is the path's ``/v1``.
API_VERSION = "1.0.0"
PURPOSE_HEADER = "Loket-Purpose"
#: 3 to 200 printable ASCII characters, no space first or last (HTTP drops those: the pattern is what arrives).
PURPOSE_PATTERN = r"^[!-~][ -~]{1,198}[!-~]$"
ETAG = re.compile(r'^\s*"([0-9]{1,9})"\s*$')
#: An id in a path or query: no control characters (a NUL cannot even be looked up in PostgreSQL).
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: The case service's pool, ``None`` until start-up has made it.
Database = Callable[[], asyncpg.Pool | None]
CaseId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN,
                             description="Case (zaak) id, as the router minted it.")]


def _full_date(value: object) -> object:
    # pydantic also reads "0" (a Unix time) or "2026-12-01T00:00" as a day; the document says format date.
    if isinstance(value, str) and not DAY.match(value):
        raise ValueError("not a day as YYYY-MM-DD")
    return value


#: A day in a query: RFC 3339's full-date, nothing else.
Day = Annotated[dt.date, BeforeValidator(_full_date)]


def api_info(settings: "CaseSettings") -> ApiInfo:
    return ApiInfo(
        title="Loket back office",
        version=API_VERSION,
        description="Cases (zaken) of the worker's departments: list, read, claim, release, transfer, suspend, "
        "resume, extend, resolve and note them; a party's klantbeeld (every contact and case of one party), found "
        "by an identifier in the body; and the access log of personal-data reads. Every call needs a bearer JWT; "
        "every change needs the case's ETag in If-Match; every read of personal data a purpose in the "
        f"{PURPOSE_HEADER} header, and it is logged. Errors are application/problem+json (RFC 9457).",
        contact=settings.contact(),
        tags=[{"name": "access-log", "description": "Who read which personal data, when and why (admins only)."},
              {"name": "cases", "description": "Cases (zaken) of the worker's departments."},
              {"name": "parties", "description": "Personal data: read with a purpose, every read logged."}],
    )


def _reason_field(description: str, longest: int = 1000) -> Any:
    return Field(min_length=1, max_length=longest, description=description,
                 json_schema_extra={"pattern": NOT_BLANK_PATTERN})


class Transfer(Frozen):
    """Send the case to another department's queue."""

    department: str = Field(pattern=CODE, max_length=64, description="Code of the afdeling (department) it goes "
                            "to, as in the organisation file.", examples=["openbare-ruimte"])
    reason: Text = _reason_field("Why, for the department that gets it.")


class Suspension(Frozen):
    """Stop both clocks from today (opschorting)."""

    reason: Text = _reason_field("Why, e.g. waiting for the party's documents.")


class Extension(Frozen):
    """Extend the legal term once (verdaging, Awb art. 9:11: at most four weeks), before it ends."""

    weeks: int = Field(ge=1, le=4, description="Weeks to extend by.", examples=[4])
    reason: Text = _reason_field("Why, for the party (who must be told).")


class Resolution(Frozen):
    """Close the case with the answer for the party."""

    resolution: Text = _reason_field("The answer for the party.", longest=4000)


class Note(Frozen):
    """A note in the case's history, for colleagues."""

    text: Text = _reason_field("The note.", longest=4000)


class PartyLookup(Frozen):
    """Who to find: exactly one identifier. It is pseudonymised here and never repeated in the answer. A party is
    found by the strongest identifier it gave when it asked (BSN before e-mail before phone)."""

    model_config = ConfigDict(json_schema_extra=lambda schema: _one_of_them(schema))

    bsn: str = Field(None, pattern=r"^[0-9]{9}$",  # type: ignore[assignment]
                     description="Burgerservicenummer: 9 digits passing the eleven test (elfproef).")
    email: EmailStr = Field(None, description="E-mail address.")  # type: ignore[assignment]
    phone: str = Field(None, pattern=r"^\+?[0-9 ()-]{6,20}$",  # type: ignore[assignment]
                       description="Phone number: Dutch unless it starts with a country code.")

    @field_validator("bsn")
    @classmethod
    def _eleven_test(cls, value: str) -> str:
        if not bsn_is_valid(value):
            raise ValueError("not a valid BSN (it fails the eleven test)")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return normalise_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_phone(value)

    @model_validator(mode="after")
    def _exactly_one(self) -> "PartyLookup":
        if len(self.model_fields_set) != 1:
            raise ValueError("give exactly one of bsn, email and phone")
        return self

    def identifier(self) -> tuple[IdentifierKind, str]:
        [kind] = self.model_fields_set
        return kind, getattr(self, kind)  # type: ignore[return-value]


def _one_of_them(schema: dict[str, Any]) -> None:
    # The fields' None defaults mean "not given", never null: the document says so by leaving them out.
    for field in schema["properties"].values():
        field.pop("default", None)
    schema.update(minProperties=1, maxProperties=1, examples=[{"bsn": "111222333"}, {"phone": "06-12345678"}])


class CasePage(Frozen):
    """A page of cases, soonest due first."""

    items: list[CaseSummary] = Field(description="The cases of this page.")
    total: int = Field(ge=0, description="How many cases match, over all pages.")
    limit: int = Field(ge=1, description="Most cases per page.")
    offset: int = Field(ge=0, description="How many matching cases come before this page.")
    next: str | None = Field(description="The next page, if there is one.")


class ReadsPage(Frozen):
    """A page of the access log, the latest read first."""

    items: list[PersonalDataRead] = Field(description="The reads of this page.")
    total: int = Field(ge=0, description="How many reads the log holds.")
    limit: int = Field(ge=1, description="Most reads per page.")
    offset: int = Field(ge=0, description="How many reads come before this page.")
    next: str | None = Field(description="The next page, if there is one.")


class DatabaseUnavailable(Exception):
    """The case service has no database now (starting, or PostgreSQL away)."""


def create_app(settings: "CaseSettings", database: Database, ready: ReadyCheck,
               clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> FastAPI:
    """The back-office API with the case service's health and metrics; ``database()`` is its pool once there."""
    info = api_info(settings)
    app = create_api(info, max_body_bytes=settings.case_max_body_bytes)
    _add_problems(app, info.version)
    for key in settings.development_keys():
        log.warning("development_key_used", setting=key, hint=f"set {key} in production")
    organisation = load_organisation(settings.organisation_file)
    rules = CaseRules(source=source_urn(settings.oin, "loket-cases"), calendar=TermCalendar.of(organisation),
                      departments=[d.code for d in organisation.departments], levels=settings.deadline_levels)
    Caller = Annotated[Worker, Depends(authenticated(settings.case_jwt_secret))]

    def office() -> BackOffice:
        pool = database()
        if pool is None:
            raise DatabaseUnavailable()
        return BackOffice(pool)

    Office = Annotated[BackOffice, Depends(office)]
    routes = _Routes(app, info.base_path, Caller, Office, clock)
    routes.cases()
    routes.change("claims", "claimCase", "Claim a case", rules.claim)
    routes.change("releases", "releaseCase", "Release a case", rules.release)
    routes.change("transfers", "transferCase", "Transfer a case to another department", rules.transfer, Transfer)
    routes.change("suspensions", "suspendCase", "Suspend a case", rules.suspend, Suspension)
    routes.change("resumptions", "resumeCase", "Resume a suspended case", rules.resume)
    routes.change("extensions", "extendCase", "Extend a case's legal term", rules.extend, Extension)
    routes.change("resolutions", "resolveCase", "Resolve a case", rules.resolve, Resolution)
    routes.change("notes", "addCaseNote", "Add a note to a case", rules.note, Note)
    routes.parties(settings.pseudonym_key())
    routes.access_log()
    add_health_endpoints(app, ready, info.version)
    add_metrics_endpoint(app)
    return app


class _Routes:
    """The API's routes. ``caller`` and ``office`` are the dependencies that give a route its worker and store."""

    def __init__(self, app: FastAPI, base: str, caller: Any, office: Any, clock: Callable[[], dt.datetime]) -> None:
        self.app, self.base, self.caller, self.office, self.clock = app, base, caller, office, clock

    def cases(self) -> None:
        Caller, Office, clock = self.caller, self.office, self.clock

        @self.app.get(f"{self.base}/cases", response_model=CasePage, tags=["cases"], operation_id="listCases",
                      summary="List my departments' cases", responses=_UNAVAILABLE)
        async def list_cases(
            worker: Caller, back_office: Office, request: Request,
            status: Annotated[StatusFilter | None, Query(description="Only cases with this status; 'suspended': "
                                                         "only suspended cases that are not resolved.")] = None,
            overdue: Annotated[bool | None, Query(description="Only cases past (true) or not past (false) their "
                                                  "service due date, unresolved and not suspended.")] = None,
            due_before: Annotated[Day | None, Query(description="Only cases due (service norm) before this "
                                                        "day.")] = None,
            subject: Annotated[str | None, Query(pattern=CODE, max_length=64, description="Only cases on this "
                                                 "onderwerp (subject) code.")] = None,
            assignee: Annotated[str | None, Query(min_length=1, max_length=128, pattern=ID_PATTERN,
                                                  description="Only cases this worker holds.")] = None,
            limit: Annotated[int, Query(ge=1, le=200, description="Most cases per page.")] = 50,
            offset: Annotated[int, Query(ge=0, le=1_000_000, description="Cases to skip.")] = 0,
        ) -> CasePage:
            """The cases of the worker's departments (an admin: all), soonest due first, a page at a time."""
            filters = CaseFilter(status=status, overdue=overdue, due_before=due_before, subject=subject,
                                 assignee=assignee)
            items, total = await back_office.cases(worker, filters, today=dutch_day(clock()), limit=limit,
                                                   offset=offset)
            return CasePage(items=items, total=total, limit=limit, offset=offset,
                            next=_next(request, limit, offset, total))

        @self.app.get(f"{self.base}/cases/{{case_id}}", response_model=CaseDetail, tags=["cases"],
                      operation_id="getCase", summary="Get a case",
                      responses={200: {"description": "The case.", "headers": _ETAG_HEADER}, **_UNAVAILABLE})
        async def get_case(case_id: CaseId, worker: Caller, back_office: Office, response: Response) -> CaseDetail:
            """A case with its history and linked contacts, and its version as ETag. No personal data."""
            case = await back_office.case(worker, case_id, today=dutch_day(clock()))
            response.headers["ETag"] = _etag(case.version)
            return case

    def change(self, path: str, operation_id: str, summary: str, apply: Callable[..., Outcome],
               body: type[Frozen] | None = None) -> None:
        """``POST /cases/{case_id}/<path>``: ``apply`` the rule, with the body's fields, to the case at If-Match."""
        Caller, Office, clock = self.caller, self.office, self.clock
        options: dict[str, Any] = dict(
            response_model=CaseDetail, tags=["cases"], operation_id=operation_id, summary=summary,
            description=apply.__doc__, openapi_extra=_IF_MATCH_PARAMETER,
            responses={200: {"description": "The case as changed.", "headers": _ETAG_HEADER}, **_CHANGE_RESPONSES})

        async def respond(case_id: str, worker: Worker, back_office: BackOffice, request: Request,
                          response: Response, arguments: dict[str, Any]) -> CaseDetail:
            now = clock()
            case = await back_office.change(worker, case_id, _if_match(request),
                                            lambda state: apply(state, worker, now, **arguments), today=dutch_day(now))
            response.headers["ETag"] = _etag(case.version)
            return case

        if body is None:
            @self.app.post(f"{self.base}/cases/{{case_id}}/{path}", **options)
            async def without_body(case_id: CaseId, worker: Caller, back_office: Office, request: Request,
                                   response: Response) -> CaseDetail:
                return await respond(case_id, worker, back_office, request, response, {})
        else:
            @self.app.post(f"{self.base}/cases/{{case_id}}/{path}", **options)
            async def with_body(case_id: CaseId, command: body, worker: Caller,  # type: ignore[valid-type]
                                back_office: Office, request: Request, response: Response) -> CaseDetail:
                return await respond(case_id, worker, back_office, request, response, command.model_dump())

    def parties(self, secret: bytes) -> None:
        Caller, Office, clock = self.caller, self.office, self.clock

        @self.app.get(f"{self.base}/cases/{{case_id}}/party", response_model=CaseParty, tags=["parties"],
                      operation_id="getCaseParty", summary="Read a case's personal data",
                      openapi_extra=_PURPOSE_PARAMETER, responses={**_PURPOSE_MISSING, **_UNAVAILABLE})
        async def get_case_party(case_id: CaseId, worker: Caller, back_office: Office, request: Request,
                                 response: Response) -> CaseParty:
            """The party's personal data and question, for the work; the read, with its purpose, is logged."""
            party = await back_office.party(worker, case_id, purpose=_purpose(request))
            response.headers["Cache-Control"] = "no-store"
            return party

        @self.app.post(f"{self.base}/klantbeelden/_zoek", response_model=Klantbeeld, tags=["parties"],
                       operation_id="findKlantbeeld", summary="Find a party's klantbeeld",
                       openapi_extra=_PURPOSE_PARAMETER, responses={**_PURPOSE_MISSING, **_UNAVAILABLE})
        async def find_klantbeeld(lookup: PartyLookup, worker: Caller, back_office: Office, request: Request,
                                  response: Response) -> Klantbeeld:
            """Every contact and case of the party with this identifier (sent in the body, never in a URL); the
            read, with its purpose and the party's pseudonym, is logged."""
            kind, value = lookup.identifier()
            found = await back_office.klantbeeld(worker, pseudonym(secret, kind, value), purpose=_purpose(request),
                                                 today=dutch_day(clock()))
            response.headers["Cache-Control"] = "no-store"
            return found

    def access_log(self) -> None:
        Caller, Office = self.caller, self.office

        @self.app.get(f"{self.base}/admin/personal-data-reads", response_model=ReadsPage, tags=["access-log"],
                      operation_id="listPersonalDataReads", summary="List the reads of personal data",
                      responses=_UNAVAILABLE)
        async def list_reads(
            worker: Caller, back_office: Office, request: Request,
            limit: Annotated[int, Query(ge=1, le=500, description="Most reads per page.")] = 100,
            offset: Annotated[int, Query(ge=0, le=10_000_000, description="Reads to skip.")] = 0,
        ) -> ReadsPage:
            """Who read which party's personal data, when and why, the latest first. Admins only."""
            items, total = await back_office.reads(worker, limit=limit, offset=offset)
            return ReadsPage(items=items, total=total, limit=limit, offset=offset,
                             next=_next(request, limit, offset, total))




def _etag(version: int) -> str:
    return f'"{version}"'


def _next(request: Request, limit: int, offset: int, total: int) -> str | None:
    if offset + limit >= total:
        return None
    return str(request.url.include_query_params(offset=offset + limit, limit=limit))


def _if_match(request: Request) -> int:
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        raise HTTPException(428, detail="Send If-Match with the case's ETag (from its GET or your last change), so "
                            "that no colleague's change is overwritten unseen.")
    match = ETAG.match(value)
    if match is None:  # not even an ETag of ours: a malformed request, not a stale one (412 names the current)
        raise HTTPException(400, detail='header.If-Match: not an ETag of a case; send the one you got, such as "3".')
    return int(match[1])


def _purpose(request: Request) -> str:
    value = request.headers.get(PURPOSE_HEADER, "")
    if not re.match(PURPOSE_PATTERN, value):
        reason = "required: why you read this personal data, 3 to 200 printable ASCII characters; it is logged"
        raise HTTPException(400, detail=f"header.{PURPOSE_HEADER}: {reason}.")
    return value


def _sentence(message: str) -> str:
    return f"{message[:1].upper()}{message[1:]}."


def _add_problems(app: FastAPI, version: str) -> None:
    """The back office's refusals as problems: 403, 404, 409, 412, 422 and 503."""

    def answer(status: int, exc: Exception, headers: dict[str, str] | None = None) -> Response:
        return problem_response(problem(status, _sentence(str(exc))), version, headers=headers)

    async def not_found(request: Request, exc: CaseNotFound) -> Response:
        return answer(404, exc)

    async def not_allowed(request: Request, exc: NotAllowed) -> Response:
        return answer(403, exc)

    async def conflict(request: Request, exc: Conflict) -> Response:
        return answer(409, exc)

    async def invalid(request: Request, exc: Invalid) -> Response:
        return answer(422, exc)

    async def stale(request: Request, exc: VersionMismatch) -> Response:
        detail = f"The case changed since the version you saw: it is at version {exc.current} now; get it again."
        return problem_response(problem(412, detail), version, headers={"ETag": _etag(exc.current)})

    async def unavailable(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, DatabaseUnavailable) and not database_away(exc):
            raise exc
        return problem_response(problem(503, "The case database is unavailable; try again."), version,
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    for error, handler in ((CaseNotFound, not_found), (NotAllowed, not_allowed), (Conflict, conflict),
                           (Invalid, invalid), (VersionMismatch, stale), (DatabaseUnavailable, unavailable),
                           (OSError, unavailable), (asyncpg.PostgresConnectionError, unavailable),
                           (asyncpg.InterfaceError, unavailable), (asyncpg.InternalClientError, unavailable),
                           (asyncpg.exceptions.OperatorInterventionError, unavailable)):
        app.add_exception_handler(error, handler)  # type: ignore[arg-type]


_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}}
_ETAG_HEADER = {"ETag": {"description": "The case's version, for If-Match on its next change.", "required": True,
                         "schema": {"type": "string", "pattern": r'^"[0-9]+"$', "examples": ['"3"']}}}
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "The case database is unavailable (starting, or away); try again after Retry-After.",
          "headers": _RETRY_AFTER}}
_PURPOSE_MISSING: dict[int | str, dict[str, Any]] = {
    400: {"description": f"No {PURPOSE_HEADER} header saying why the personal data is read, or one that is not 3 to "
          "200 printable ASCII characters; or the body is not I-JSON."}}
_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "If-Match is not an ETag as this API gives them (a quoted number); or the body is not "
          "I-JSON."},
    403: {"description": "The case is another department's, or a colleague holds it and the change is for them or "
          "a coordinator."},
    409: {"description": "The case's state does not allow the change: someone else holds it, it is resolved, "
          "suspended (or not), or extended already."},
    412: {"description": "If-Match does not hold the case's current ETag: it changed since; get it again.",
          "headers": {"ETag": {**_ETAG_HEADER["ETag"], "description": "The case's current version."}}},
    422: {"description": "The change breaks a rule of this document or of the case's rules (an unknown department, "
          "an empty reason, an extension of more than four weeks); `errors` names the fields at fault."},
    428: {"description": "No If-Match: a change names the version it was made on (the case's ETag)."},
    **_UNAVAILABLE}
_IF_MATCH_PARAMETER = {"parameters": [{
    "name": "If-Match", "in": "header", "required": True,
    "description": "The case's ETag as its GET or your last change gave it: the change is made only on that version.",
    "schema": {"type": "string", "pattern": r'^\s*"[0-9]{1,9}"\s*$', "examples": ['"3"']}}]}
_PURPOSE_PARAMETER = {"parameters": [{
    "name": PURPOSE_HEADER, "in": "header", "required": True,
    "description": "Why you read this personal data (AVG: purpose limitation); it goes into the access log.",
    "schema": {"type": "string", "pattern": PURPOSE_PATTERN, "examples": ["terugbelverzoek uitvoeren"]}}]}
