"""Errors of the local stack: what went wrong starting or stopping Kafka and PostgreSQL."""


class StackError(Exception):
    """Base of the local stack's errors."""


class MissingTool(StackError):
    """A program the stack needs is not installed."""

    def __init__(self, program: str, package: str) -> None:
        super().__init__(f"'{program}' was not found; install it first (Debian/Ubuntu: apt-get install {package})")
        self.program = program
        self.package = package


class CommandFailed(StackError):
    """A helper program (mvn, initdb, pg_ctl, kafka-storage) exited with an error."""


class StartFailed(StackError):
    """A server was started but died or did not answer in time."""


class PortTaken(StackError):
    """Another server already listens where ours should, and it is not usable by Loket."""


class StateDirUnusable(StackError):
    """The state folder cannot be used, e.g. the unprivileged server user cannot reach it."""
