"""Errors of the shared plumbing."""


class PlumbingError(Exception):
    """Base of the plumbing's errors."""


class KafkaUnavailable(PlumbingError):
    """The Kafka broker could not be reached or refused the request."""


class MigrationFailed(PlumbingError):
    """A database migration could not be applied."""
