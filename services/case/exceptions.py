"""Errors of the case service."""


class CaseError(Exception):
    """Base of the case service's errors."""


class UnstorableCase(CaseError):
    """PostgreSQL refuses the case's data itself (not a connection problem): retrying cannot help."""


class DuplicateCase(CaseError):
    """The case (or its request) is stored already: a redelivered request has no second effect."""
