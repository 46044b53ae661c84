"""What a broker outage puts in the norms service's log: aiokafka retries ten times a second with four kinds of
complaint, and the shared log filter lets the first few through and then one summary a minute."""

import logging

from plumbing.logging import BURST, OncePerInterval

#: What aiokafka said while a norms service waited a minute for its broker (logger, template), measured.
COMPLAINTS = [
    ("aiokafka", "Unable connect to node with id %s: %s"),
    ("aiokafka", "Unable to update metadata from %s"),
    ("aiokafka.consumer.fetcher", "Failed fetch messages from %s: %s"),
    ("aiokafka.consumer.group_coordinator", "Group Coordinator Request failed: %s"),
]


def told_during(seconds: float, once: OncePerInterval, clock: list[float]) -> list[str]:
    """Every complaint ten times a second for ``seconds``; the lines that got through."""
    told = []
    for tick in range(int(seconds * 10)):
        clock[0] = tick / 10
        for name, template in COMPLAINTS:
            line = logging.LogRecord(name, logging.ERROR, "f", 1, template, (1, "refused")[:template.count("%s")],
                                     None)
            if once.filter(line):
                told.append(line.getMessage())
    return told


def test_a_minute_and_more_without_the_broker_is_a_few_complaints_and_one_summary():
    clock = [0.0]
    once = OncePerInterval(("aiokafka",), interval=60, clock=lambda: clock[0])

    told = told_during(75, once, clock)

    assert len(told) == BURST + 1 < len(COMPLAINTS) + 1, told
    assert told[-1].endswith("(599 like it in the last 60s not logged, and 1798 other aiokafka lines)"), told[-1]


def test_every_further_minute_of_the_outage_is_one_line():
    clock = [0.0]
    once = OncePerInterval(("aiokafka",), interval=60, clock=lambda: clock[0])

    assert len(told_during(10 * 60 + 5, once, clock)) == BURST + 10


def test_a_new_kind_of_complaint_is_told_at_once_while_the_burst_lasts_and_our_own_lines_always():
    clock = [0.0]
    once = OncePerInterval(("aiokafka",), interval=60, burst=2, clock=lambda: clock[0])

    def passes(name: str, template: str) -> bool:
        return once.filter(logging.LogRecord(name, logging.WARNING, "f", 1, template, (), None))

    assert passes("aiokafka", "Unable to update metadata")
    assert not passes("aiokafka", "Unable to update metadata")
    assert passes("aiokafka.consumer.group_coordinator", "Marking the coordinator dead")
    assert not passes("aiokafka.consumer.fetcher", "Failed fetch messages")  # the burst is spent
    assert passes("plumbing.outage", "dependency_unavailable")
