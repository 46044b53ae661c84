"""Errors of the shared plumbing."""


class PlumbingError(Exception):
    """Base of the plumbing's errors."""


class KafkaUnavailable(PlumbingError):
    """The Kafka broker could not be reached or refused the request."""


class PartitionMismatch(PlumbingError):
    """A topic has another partition count than the deployment is configured for."""


class MigrationFailed(PlumbingError):
    """A database migration could not be applied."""


class StateUnavailable(PlumbingError):
    """A consumer's keyed state could not be read back from its changelog: it must not go on without it."""


class StateFailed(PlumbingError):
    """A consumer's own store of its keyed state failed (its disk full, say): no record is handled without it.
    The process stops with its batch uncommitted; the state is read back from the changelog by whoever owns
    the partitions next, and the batch is handled then."""


class ConsumerFenced(PlumbingError):
    """The consumer group went on without this process: its partitions may have another owner now."""


class HttpUnavailable(PlumbingError):
    """A service's HTTP server could not listen (its port taken, its address unknown)."""


class Stopped(PlumbingError):
    """The service was asked to stop while a dependency was away (or while waiting on it): what it had in
    hand is not committed, and is delivered again after a restart."""

    def __init__(self, dependency: str) -> None:
        super().__init__(f"stopped while waiting for the {dependency}")
        self.dependency = dependency
