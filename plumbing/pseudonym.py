"""Keyed pseudonyms for parties: HMAC-SHA256 of the strongest identifier, so a raw BSN is never a key.

One spelling per identifier, so one party keeps one pseudonym and two parties never share one:
- phone: E.164 by ``phonenumbers``, Dutch unless the number says otherwise: 06-12345678, +31 6 12345678,
  0031612345678 and +31 (0)6 1234 5678 are all +31612345678, while 020-1234567 (+31201234567) and
  +20 1234567 (Egypt, +201234567) stay two numbers;
- e-mail: as ``email_validator`` normalises it (the domain in its Unicode form), then in lower case;
- BSN and KvK: their digits (the kind is part of the HMAC's message, so the two never collide).
An identifier that cannot be read raises ``ValueError`` saying why, never echoing the value.
A BSN is checked here too (``bsn_is_valid``), so that the intake and the back office check it alike.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import NumberParseException, ValidationResult
from stdnum.nl import bsn as stdnum_bsn

IdentifierKind = Literal["bsn", "kvk", "email", "phone"]

#: A number without a country code is a Dutch one.
PHONE_REGION = "NL"
_UNPARSEABLE = {
    NumberParseException.INVALID_COUNTRY_CODE: "no known country code",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_IMPOSSIBLE = {
    ValidationResult.INVALID_COUNTRY_CODE: "no known country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
    ValidationResult.INVALID_LENGTH: "no number of its country has this length",
}


def bsn_is_valid(bsn: str) -> bool:
    """Nine digits that pass the eleven test (elfproef) of a burgerservicenummer, by python-stdnum."""
    # stdnum would also take "111 222 333" or eight digits (padding a zero); the APIs ask for nine.
    return len(bsn) == 9 and bsn.isascii() and bsn.isdigit() and stdnum_bsn.is_valid(bsn)


def normalise(kind: IdentifierKind, value: str) -> str:
    """The one spelling of an identifier that its pseudonym is made from."""
    value = value.strip()
    if kind == "email":
        return normalise_email(value)
    if kind == "phone":
        return normalise_phone(value)
    return "".join(ch for ch in value if ch.isdigit())


def normalise_phone(value: str) -> str:
    """The number in E.164 (``+31612345678``); ``ValueError`` if it is not a possible phone number."""
    try:
        number = phonenumbers.parse(value, PHONE_REGION)
    except NumberParseException as exc:
        raise ValueError(f"not a phone number: {_UNPARSEABLE.get(exc.error_type, 'no digits to dial')}") from None
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason in _IMPOSSIBLE:
        raise ValueError(f"not a phone number: {_IMPOSSIBLE[reason]}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str) -> str:
    """The address as the validator normalises it, in lower case; ``ValueError`` if it is not one."""
    try:
        address = validate_email(value, check_deliverability=False)  # no DNS: this is pure
    except EmailNotValidError:  # its message may quote the address
        raise ValueError("not a valid e-mail address") from None
    # The domain is case-insensitive by definition. The local part may be case-sensitive by the RFC,
    # but mail providers treat it as case-insensitive and pseudonyms have always lowercased it, so
    # Jan.Jansen@ and jan.jansen@ stay one party rather than splitting a person in two.
    return address.normalized.lower()


def pseudonym(secret: bytes, kind: IdentifierKind, value: str) -> str:
    """64 hex characters; the kind is part of the message so a KvK and a BSN never collide."""
    message = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
