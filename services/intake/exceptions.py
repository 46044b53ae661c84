"""Errors of the intake service."""


class IntakeError(Exception):
    """Base of the intake's errors."""


class InvalidIdentifier(IntakeError):
    """A party identifier that cannot be used: a BSN failing the eleven test, an impossible phone number."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PublishFailed(IntakeError):
    """The question could not be written to Kafka; nothing was accepted."""


class ImplausibleTime(IntakeError):
    """A time the channel gave lies outside the window the intake accepts around its own clock."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class IdempotencyKeyReused(IntakeError):
    """An Idempotency-Key (or a channel system's own event id, ``field``) came back with another body than the
    one it was first used with."""

    def __init__(self, message: str, field: str = "header.Idempotency-Key") -> None:
        super().__init__(message)
        self.field = field
