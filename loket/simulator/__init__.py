"""The traffic simulator: a realistic day of the example municipality Zeventerpen on every channel, sent
through the intake's doors (or straight to Kafka). ``simulate`` is the pure model; ``send`` sends its day."""

from loket.simulator.day import simulate
from loket.simulator.model import Day, Door, Post, Scenario
from loket.simulator.population import valid_bsn
from loket.simulator.texts import QUESTIONS

__all__ = ["QUESTIONS", "Day", "Door", "Post", "Scenario", "simulate", "valid_bsn"]
