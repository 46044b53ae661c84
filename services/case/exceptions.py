"""Errors of the case service."""


class CaseError(Exception):
    """Base of the case service's errors."""


class DuplicateCase(CaseError):
    """The case (or its request) is stored already: a redelivered request has no second effect."""
