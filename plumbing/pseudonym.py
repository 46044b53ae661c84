"""Keyed pseudonyms for parties: HMAC-SHA256 of the strongest identifier, so a raw BSN is never a key."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

IdentifierKind = Literal["bsn", "kvk", "email", "phone"]


def normalise(kind: IdentifierKind, value: str) -> str:
    """One spelling per identifier, so the same party always gets the same pseudonym."""
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind == "phone":
        digits = "".join(ch for ch in value if ch.isdigit())
        # 06-12345678, +31 6 12345678 and 0031612345678 are one number.
        if digits.startswith("0031"):
            digits = digits[4:]
        elif digits.startswith("31") and value.lstrip().startswith("+"):
            digits = digits[2:]
        return digits.lstrip("0")
    return "".join(ch for ch in value if ch.isdigit())


def pseudonym(secret: bytes, kind: IdentifierKind, value: str) -> str:
    """64 hex characters; the kind is part of the message so a KvK and a BSN never collide."""
    message = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
