"""Errors of the intake service."""


class IntakeError(Exception):
    """Base of the intake's errors."""


class FieldRefused(IntakeError):
    """A field that matches its schema but breaks a rule only the intake can check (a 422 naming it)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class InvalidIdentifier(FieldRefused):
    """A party identifier that cannot be used: a BSN failing the eleven test, an impossible phone number."""


class OverLimit(FieldRefused):
    """A size beyond what this intake is set to take (an attachment larger than its limit)."""


class PublishFailed(IntakeError):
    """The question could not be written to Kafka; nothing was accepted."""


class ImplausibleTime(FieldRefused):
    """A time the channel gave lies outside the window the intake accepts around its own clock."""


class IdempotencyKeyReused(IntakeError):
    """An Idempotency-Key (or a channel system's own event id, ``field``) came back with another body than the
    one it was first used with."""

    def __init__(self, message: str, field: str = "header.Idempotency-Key") -> None:
        super().__init__(message)
        self.field = field
