"""Errors of the simulator."""


class SimulatorError(Exception):
    """Base of the simulator's errors; the message says what to do."""


class IntakeUnreachable(SimulatorError):
    """The intake did not answer, or kept answering that the contacts stream is away."""


class NotLetIn(SimulatorError):
    """The intake refused a channel system's token (401 or 403): none of that system's requests would be taken."""


class Refused(SimulatorError):
    """The intake did not take a request; ``reason`` says why, naming fields, never their values."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
