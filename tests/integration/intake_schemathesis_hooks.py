"""schemathesis hooks for the run against the intake (loaded by ``SCHEMATHESIS_HOOKS``).

Some rules of the intake's document are stated in words because JSON Schema cannot hold them: a BSN passes
the eleven test, a phone number can be dialled, an e-mail address is deliverable in form, ``received_at``
lies in a window around the intake's clock (so do a report's ``at`` and a score's ``scored_at``), and an
Idempotency-Key belongs to one question (a report's ``id`` to one report, a score's ``response_id`` to one
score). A value that
matches its schema but breaks such a rule rightly gets the documented 422, which schemathesis's
``positive_data_acceptance`` check would take for a schema that says too little. So where a generated
value matches its schema, it is replaced by one that keeps the rule too; every other value, and every
check on every response, stays as schemathesis made it.

Each door lets in its own channel systems (a question: the system of its channel), so each request carries
the development token of the system that door would see, unless schemathesis is checking what the intake
does without one.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import httpx
import schemathesis
from email_validator import EmailNotValidError, validate_email

from plumbing.pseudonym import normalise_phone
from schemas.contacts import REFERENCE_PATTERN
from schemas.intake import RFC3339_PATTERN
from services.intake.domain import bsn_is_valid
from tests.builders import ChannelSystemAuth

IDEMPOTENCY_KEY = re.compile(r"^[!-~]{8,128}$")
BSN = re.compile(r"^[0-9]{9}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
REPORT_ID = re.compile(REFERENCE_PATTERN)


def _token_of_the_doors_system(case: Any) -> str:
    try:
        body = json.dumps(case.body).encode()
    except (TypeError, ValueError):
        body = b""  # no JSON: a door's own 4xx is under test, and any system's token does
    request = httpx.Request("POST", f"http://intake/v1{case.path}", content=body)
    return next(ChannelSystemAuth().auth_flow(request)).headers["Authorization"]


@schemathesis.auth(refresh_interval=None)
class ChannelSystemToken:
    """The development token of the system the door lets in (schemathesis takes it away for its auth checks)."""

    def get(self, case: Any, context: Any) -> str:
        return _token_of_the_doors_system(case)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": data}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and IDEMPOTENCY_KEY.match(key):
        case.headers["Idempotency-Key"] = f"schemathesis-{uuid.uuid4()}"
    body = case.body
    if not isinstance(body, dict):
        return
    if "queue" in body:  # a call's or a counter visit's report: its id belongs to one report, its time, caller
        _keep_report_rules(body)  # and party keep their rules
        return
    if "response_id" in body:  # a satisfaction score: its response id belongs to one score, its time in the window
        _fresh_id_and_time(body, "response_id", "scored_at")
        return
    if "contact_id" in body:  # a first reply: its id belongs to one reply, its time in the window
        _fresh_id_and_time(body, "id", "sent_at")
        return
    _fresh_id_and_time(body, "-", "received_at")  # a question has no id of its own
    party = body.get("party")
    if isinstance(party, dict):
        _keep_identifier_rules(party)


def _keep_report_rules(report: dict[str, Any]) -> None:
    _fresh_id_and_time(report, "id", "at")
    caller = report.get("caller")
    if isinstance(caller, str) and PHONE.match(caller) and not _dialable(caller):
        report["caller"] = "06 12345678"
    if isinstance(report.get("party"), dict):
        _keep_identifier_rules(report["party"])


def _fresh_id_and_time(body: dict[str, Any], id_field: str, time_field: str) -> None:
    """An id of one body only, and a time in the intake's window, where schemathesis made valid ones."""
    if isinstance(body.get(id_field), str) and REPORT_ID.match(body[id_field]):
        body[id_field] = f"schemathesis-{uuid.uuid4()}"
    when = body.get(time_field)
    if isinstance(when, str) and RFC3339_PATTERN.match(when):
        body[time_field] = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()


def _keep_identifier_rules(party: dict[str, Any]) -> None:
    bsn, phone, email = party.get("bsn"), party.get("phone"), party.get("email")
    if isinstance(bsn, str) and BSN.match(bsn) and not bsn_is_valid(bsn):
        party["bsn"] = "111222333"
    if isinstance(phone, str) and PHONE.match(phone) and not _dialable(phone):
        party["phone"] = "06 12345678"
    if isinstance(email, str) and "@" in email and not _deliverable_form(email):
        party["email"] = "vraag@zeventerpen.nl"


def _dialable(phone: str) -> bool:
    try:
        normalise_phone(phone)
    except ValueError:
        return False
    return True


def _deliverable_form(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True
