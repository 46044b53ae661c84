"""Who calls the back-office API: a bearer JWT (HS256) naming the worker, their departments and role; and the
settings of that API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from plumbing.api import ApiSettings
from plumbing.settings import PseudonymSettings
from services.case.commands import Role, Worker

#: The token key of the local stack only; the API warns at start-up while it is in use.
DEVELOPMENT_JWT_SECRET = "loket-development-only-back-office-token-key"
ALGORITHM = "HS256"
#: Claims every token carries: the worker's id, their departments' codes, their role and the expiry.
REQUIRED_CLAIMS = ("sub", "departments", "role", "exp")
#: RFC 7518 3.2: an HS256 key has at least as many bits as the hash.
SHORTEST_KEY = 32


class BackOfficeSettings(ApiSettings, PseudonymSettings):
    """``LOKET_CASE_*`` settings of the back-office API, and the pseudonym key it looks parties up with."""

    model_config = SettingsConfigDict(hide_input_in_errors=True)  # a key refused at start-up is not printed

    case_jwt_secret: SecretStr = Field(
        SecretStr(DEVELOPMENT_JWT_SECRET), min_length=SHORTEST_KEY,
        description="Key (at least 32 characters) that signs and checks the back-office API's bearer tokens "
        "(HS256).")
    case_token_minutes: int = Field(480, ge=1, le=7 * 24 * 60,
                                    description="How long a token minted by `loket token` is valid, in minutes.")
    case_max_body_bytes: int = Field(16 * 1024, ge=1024,
                                     description="Largest request body the back-office API takes; larger is a 413.")

    def development_keys(self) -> list[str]:
        """The settings that still hold a development key (start-up warns about each)."""
        keys = ["LOKET_PSEUDONYM_SECRET"] if self.development_pseudonym_secret() else []
        if self.case_jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET:
            keys.append("LOKET_CASE_JWT_SECRET")
        return keys


class Unauthenticated(Exception):
    """A token that names nobody: expired, badly signed, not a JWT or without a claim; the message says which."""


def mint_token(settings: BackOfficeSettings, worker: str, departments: Sequence[str], role: Role = Role.WORKER,
               ttl: dt.timedelta | None = None, now: dt.datetime | None = None) -> str:
    """A token for ``worker`` of ``departments`` in ``role``, valid for ``ttl`` (by default the setting's)."""
    issued = now or dt.datetime.now(dt.timezone.utc)
    expires = issued + (ttl or dt.timedelta(minutes=settings.case_token_minutes))
    claims = {"sub": worker, "departments": list(departments), "role": Role(role).value, "iat": issued,
              "exp": expires}
    return jwt.encode(claims, settings.case_jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def worker_of(token: str, secret: SecretStr) -> Worker:
    """The worker a token names, once its signature, expiry and claims hold; else ``Unauthenticated``."""
    try:
        claims = jwt.decode(token, secret.get_secret_value(), algorithms=[ALGORITHM],
                            options={"require": list(REQUIRED_CLAIMS)})
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated("the token's signature does not match") from None
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"the token has no {exc.claim!r} claim") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("the token is not a JWT signed with HS256") from None
    return _worker(claims)


def _worker(claims: dict[str, Any]) -> Worker:
    subject, departments, role = claims["sub"], claims["departments"], claims["role"]
    if not isinstance(subject, str) or not subject.strip() or not subject.isprintable() or len(subject) > 128:
        raise Unauthenticated("the token's 'sub' claim is not a worker id")  # it goes into history rows
    if not isinstance(departments, list) or not all(isinstance(d, str) for d in departments):
        raise Unauthenticated("the token's 'departments' claim is not a list of department codes")
    if role not in set(Role):
        raise Unauthenticated(f"the token's 'role' claim is not one of {', '.join(Role)}")
    return Worker(subject, frozenset(departments), Role(role))


_BEARER = HTTPBearer(auto_error=False, bearerFormat="JWT", scheme_name="bearer",
                     description="A JWT (HS256) with the claims sub (worker id), departments (codes), role (worker, "
                     "coordinator or admin) and exp; `loket token` mints one for development.")


def authenticated(secret: SecretStr) -> Callable[..., Awaitable[Worker]]:
    """A FastAPI dependency: the worker the request's bearer token names, or a 401 with ``WWW-Authenticate``."""

    async def current_worker(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> Worker:
        if credentials is None:
            raise HTTPException(401, detail="Send a bearer token: Authorization: Bearer <JWT>.",
                                headers={"WWW-Authenticate": "Bearer"})
        try:
            return worker_of(credentials.credentials, secret)
        except Unauthenticated as exc:
            raise HTTPException(401, detail=f"The bearer token is not accepted: {exc}.",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None

    return current_worker
