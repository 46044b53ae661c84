"""Bearer tokens of the back-office API: what `loket token` mints is accepted; an expired one, one signed with
another key or with another algorithm, and one without a claim are not, each saying why."""

import datetime as dt

import jwt
import pytest
from pydantic import SecretStr, ValidationError

from plumbing.settings import DEVELOPMENT_SECRET
from services.case.auth import (DEVELOPMENT_JWT_SECRET, BackOfficeSettings, Unauthenticated, mint_token,
                                worker_of)
from services.case.commands import Role, Worker

KEY = "a-test-key-of-at-least-thirty-two-characters"
SETTINGS = BackOfficeSettings(case_jwt_secret=KEY, pseudonym_secret="a-test-pseudonym-key")
NOW = dt.datetime.now(dt.timezone.utc)


def claims(**changes: object) -> dict[str, object]:
    base = {"sub": "anna", "departments": ["afval-reiniging"], "role": "worker", "exp": NOW + dt.timedelta(hours=1)}
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def test_a_minted_token_names_the_worker_their_departments_and_role():
    token = mint_token(SETTINGS, "cora", ["afval-reiniging", "parkeren"], Role.COORDINATOR)
    assert worker_of(token, SecretStr(KEY)) == Worker("cora", frozenset({"afval-reiniging", "parkeren"}),
                                                     Role.COORDINATOR)
    assert jwt.decode(token, KEY, algorithms=["HS256"])["exp"] - jwt.decode(
        token, KEY, algorithms=["HS256"])["iat"] == 480 * 60  # the setting's lifetime by default


def test_an_expired_token_is_refused():
    token = mint_token(SETTINGS, "anna", ["afval-reiniging"], ttl=dt.timedelta(minutes=5),
                       now=NOW - dt.timedelta(minutes=6))
    with pytest.raises(Unauthenticated, match="expired"):
        worker_of(token, SecretStr(KEY))


def test_a_token_signed_with_another_key_is_refused():
    other = BackOfficeSettings(case_jwt_secret="another-key-of-at-least-thirty-two-characters")
    with pytest.raises(Unauthenticated, match="signature"):
        worker_of(mint_token(other, "anna", ["afval-reiniging"]), SecretStr(KEY))


@pytest.mark.parametrize("token", [
    jwt.encode(claims(exp=int((NOW + dt.timedelta(hours=1)).timestamp())), None, algorithm="none"),
    "not.a.jwt",
    "",
], ids=["unsigned", "garbage", "empty"])
def test_a_token_that_is_no_hs256_jwt_is_refused(token):
    with pytest.raises(Unauthenticated, match="not a JWT signed with HS256"):
        worker_of(token, SecretStr(KEY))


@pytest.mark.parametrize("missing", ["sub", "departments", "role", "exp"])
def test_a_token_without_a_required_claim_is_refused(missing):
    token = jwt.encode(claims(**{missing: None}), KEY, algorithm="HS256")
    with pytest.raises(Unauthenticated, match=f"no '{missing}' claim"):
        worker_of(token, SecretStr(KEY))


@pytest.mark.parametrize(("changes", "why"), [
    ({"role": "superuser"}, "'role' claim is not one of worker, coordinator, admin"),
    ({"departments": "afval-reiniging"}, "not a list of department codes"),
    ({"sub": "  "}, "not a worker id"),
    ({"sub": "anna\u0000"}, "not a worker id"),  # PostgreSQL would refuse it in a history row: a 500
    ({"sub": "a" * 129}, "not a worker id"),
])
def test_a_token_with_a_claim_of_the_wrong_kind_is_refused(changes, why):
    with pytest.raises(Unauthenticated, match=why):
        worker_of(jwt.encode(claims(**changes), KEY, algorithm="HS256"), SecretStr(KEY))


def test_an_admin_token_may_name_no_department():
    token = mint_token(SETTINGS, "root", [], Role.ADMIN)
    assert worker_of(token, SecretStr(KEY)).sees("any-department")


def test_a_key_shorter_than_the_hash_is_refused_without_being_printed():
    with pytest.raises(ValidationError) as refused:
        BackOfficeSettings(case_jwt_secret="kort-en-geheim")
    assert "kort-en-geheim" not in str(refused.value)


def test_the_development_keys_are_named_so_start_up_can_warn():
    development = BackOfficeSettings(pseudonym_secret=DEVELOPMENT_SECRET, case_jwt_secret=DEVELOPMENT_JWT_SECRET)
    assert development.development_keys() == ["LOKET_PSEUDONYM_SECRET", "LOKET_CASE_JWT_SECRET"]
    assert SETTINGS.development_keys() == []


def test_loket_token_prints_a_token_the_api_accepts_and_a_curl_line_on_stderr(monkeypatch):
    from typer.testing import CliRunner

    from loket.cli import cli

    monkeypatch.setenv("LOKET_CASE_JWT_SECRET", KEY)
    monkeypatch.setenv("LOKET_CASE_PORT", "18084")
    done = CliRunner().invoke(cli, ["token", "--worker", "anna", "--department", "afval-reiniging",
                                    "--department", "parkeren", "--role", "coordinator", "--minutes", "5"])
    assert done.exit_code == 0, done.output
    assert worker_of(done.stdout.strip(), SecretStr(KEY)) == Worker("anna", frozenset({"afval-reiniging", "parkeren"}),
                                                                   Role.COORDINATOR)
    assert "curl" in done.stderr and "http://127.0.0.1:18084/v1/cases" in done.stderr
    unknown = CliRunner().invoke(cli, ["token", "--worker", "anna", "--department", "nergens"])
    assert unknown.exit_code == 2 and "no department nergens" in unknown.stderr
