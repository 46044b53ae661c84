"""schemathesis hooks for the run against the back office (loaded by ``SCHEMATHESIS_HOOKS``).

Some rules of the back-office document are stated in words because JSON Schema cannot hold them: a change
names the case's current version in If-Match, a transfer goes to a department the organisation knows and the
case is not in yet, and an identifier looked up passes the intake's checks (a BSN the eleven test, a phone
number that can be dialled, an e-mail address deliverable in form). A value that matches its schema but breaks
such a rule rightly gets the documented 412 or 422, which schemathesis's ``positive_data_acceptance`` check
would take for a schema that says too little. So where a generated value matches its schema, it is replaced by
one that keeps the rule too; every other value, and every check on every response, stays as schemathesis made
it. The hooks read the case as it is now with the token in ``BACKOFFICE_HOOK_TOKEN`` (an admin's).
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis

from plumbing.organisation import CODE, load_organisation
from plumbing.pseudonym import bsn_is_valid, normalise_email, normalise_phone

ETAG = re.compile(r'^\s*"[0-9]{1,9}"\s*$')
BSN = re.compile(r"^[0-9]{9}$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,20}$")
DEPARTMENT = re.compile(CODE)
DEPARTMENTS = sorted(d.code for d in load_organisation().departments)
KNOWN = {"bsn": "111222333", "phone": "06 12345678", "email": "vraag@zeventerpen.nl"}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path = case.operation.path
    if path.startswith("/cases/{case_id}/") and path != "/cases/{case_id}/party":
        _keep_change_rules(case)
    elif path == "/klantbeelden/_zoek" and isinstance(case.body, dict):
        _keep_identifier_rules(case.body)


def _keep_change_rules(case: Any) -> None:
    headers = case.headers or {}
    if_match, case_id = headers.get("If-Match"), (case.path_parameters or {}).get("case_id")
    if not (isinstance(if_match, str) and ETAG.match(if_match) and isinstance(case_id, str)):
        return
    current = _current(case.operation.schema.get_base_url(), case_id)
    if current is None:  # no such case (404), or not one to read: the answer is the API's to give
        return
    headers["If-Match"] = current.headers["ETag"]
    body = case.body
    if case.operation.path.endswith("/transfers") and isinstance(body, dict):
        to, there = body.get("department"), current.json()["department"]
        if isinstance(to, str) and DEPARTMENT.match(to) and (to not in DEPARTMENTS or to == there):
            body["department"] = next(d for d in DEPARTMENTS if d != there)


def _current(base_url: str, case_id: str) -> httpx.Response | None:
    token = os.environ["BACKOFFICE_HOOK_TOKEN"]
    answer = httpx.get(f"{base_url}/cases/{quote(case_id, safe='')}", headers={"Authorization": f"Bearer {token}"},
                       timeout=10)
    return answer if answer.status_code == 200 else None


def _keep_identifier_rules(body: dict[str, Any]) -> None:
    bsn, phone, email = body.get("bsn"), body.get("phone"), body.get("email")
    if isinstance(bsn, str) and BSN.match(bsn) and not bsn_is_valid(bsn):
        body["bsn"] = KNOWN["bsn"]
    if isinstance(phone, str) and PHONE.match(phone) and not _readable(normalise_phone, phone):
        body["phone"] = KNOWN["phone"]
    if isinstance(email, str) and "@" in email and not _readable(normalise_email, email):
        body["email"] = KNOWN["email"]


def _readable(normalise: Any, value: str) -> bool:
    try:
        normalise(value)
    except ValueError:
        return False
    return True
