"""Who calls the intake: each channel system has a bearer token of its own, and each door lets in only the
systems whose contacts come through it.

The tokens are opaque secrets from the settings (``LOKET_INTAKE_TOKENS``, a JSON object of system to token),
compared in constant time. No token, or one no system has: 401 with ``WWW-Authenticate``. Another system's
token than the door's: 403. The log names the system that called, never the body.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from schemas.contacts import Channel


class ChannelSystem(StrEnum):
    """The systems that hand the intake what they see; each has its own token."""

    TELEPHONY = "telephony"  # the telephony platform (CTI): call reports, and the questions agents register
    WEBSITE = "website"  # the web forms and the chat
    COUNTER = "counter"  # the queue-ticketing and appointment systems, and the counter's questions
    MAIL = "mail"  # the KCC's mail handling: e-mails registered through the API, and their replies
    POST = "post"  # the post room: letters, and their replies
    SURVEY = "survey"  # the satisfaction survey tool (KTO)


#: The channels whose questions (and first replies) each system may hand in.
CHANNELS_OF: Mapping[ChannelSystem, frozenset[Channel]] = {
    ChannelSystem.TELEPHONY: frozenset({Channel.PHONE}),
    ChannelSystem.WEBSITE: frozenset({Channel.WEB, Channel.CHAT}),
    ChannelSystem.COUNTER: frozenset({Channel.COUNTER}),
    ChannelSystem.MAIL: frozenset({Channel.EMAIL}),
    ChannelSystem.POST: frozenset({Channel.LETTER}),
    ChannelSystem.SURVEY: frozenset(),
}


def system_of_channel(channel: Channel) -> ChannelSystem:
    """The one system a channel's questions come from."""
    return next(system for system, channels in CHANNELS_OF.items() if channel in channels)


def development_token(system: ChannelSystem) -> str:
    """The token of ``system`` on the local stack only; the intake warns at start-up while one is in use."""
    return f"loket-development-only-{system.value}-token"


DEVELOPMENT_TOKENS: dict[ChannelSystem, SecretStr] = {s: SecretStr(development_token(s)) for s in ChannelSystem}

_BEARER = HTTPBearer(auto_error=False, scheme_name="channelSystem",
                     description="The calling channel system's own token (LOKET_INTAKE_TOKENS); each operation "
                     "says which systems it lets in.")


def caller_of(token: str, tokens: Mapping[ChannelSystem, SecretStr]) -> ChannelSystem | None:
    """The system whose token this is, or None; every token is compared, in constant time."""
    found = None
    given = token.encode()
    for system, secret in tokens.items():
        if hmac.compare_digest(given, secret.get_secret_value().encode()):
            found = system
    return found


def authenticated(tokens: Mapping[ChannelSystem, SecretStr]) -> Callable[..., Awaitable[ChannelSystem]]:
    """A FastAPI dependency: the channel system the request's bearer token belongs to, or a 401."""

    async def calling_system(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]) -> ChannelSystem:
        if credentials is None:
            raise HTTPException(401, detail="Send your channel system's token: Authorization: Bearer <token>.",
                                headers={"WWW-Authenticate": "Bearer"})
        system = caller_of(credentials.credentials, tokens)
        if system is None:
            raise HTTPException(401, detail="The bearer token is no channel system's.",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return system

    return calling_system


def require(system: ChannelSystem, allowed: frozenset[ChannelSystem], door: str) -> None:
    """A 403 unless ``system`` may use this door."""
    if system not in allowed:
        names = " or ".join(sorted(s.value for s in allowed))
        raise HTTPException(403, detail=f"This token is the {system.value} system's; {door} are taken from the "
                            f"{names} system only.")


def require_channel(system: ChannelSystem, channel: Channel, what: str = "questions") -> None:
    """A 403 unless ``system`` hands in ``channel``'s contacts."""
    if channel not in CHANNELS_OF[system]:
        require(system, frozenset({system_of_channel(channel)}), f"{what} on the {channel.value} channel")
