"""The router's memory per party: its resident size after routing one question from each of N distinct parties.

    python bench/memory.py [--parties 100000 --parties 300000 --parties 1000000]

Each N runs in a fresh process of its own (a process's memory does not shrink back, so one process for all would
measure the largest only): it builds the router's record handler with its per-partition state, as the router
runs it, routes one realistic question from each of N parties (made one at a time, so the questions themselves
are not kept), and reports its resident set size before and after (Linux, ``/proc/self/status``). No Kafka is
needed: the state the router keeps is the same whoever delivers the records. Prints one line per N and bytes
per party.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import typer
from aiokafka import ConsumerRecord

from loket.simulator import QUESTIONS
from plumbing.calendar import TermCalendar
from plumbing.changelog import PartitionedState
from plumbing.kafka import CLOUDEVENT_HEADERS
from plumbing.organisation import load_organisation
from plumbing.settings import KafkaSettings
from schemas import PartyRef, QuestionAsked, QuestionData
from services.router.domain import Classifier
from services.router.kafka import RouterRecords

SOURCE = "urn:nld:oin:00000001999999999000:systeem:bench"
PARTITIONS = 4


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status (this bench needs Linux)")


def measure(parties: int, seed: int) -> dict[str, float]:
    """Route one question from each of ``parties`` parties; the resident size before and after."""
    rng = random.Random(seed)
    organisation = load_organisation()
    state = PartitionedState("bench-party-state")
    state.install({p: {} for p in range(PARTITIONS)})
    records = RouterRecords(KafkaSettings(), state, "bench-closures", classifier=Classifier(organisation),
                            calendar=TermCalendar.of(organisation), source=SOURCE)
    now = dt.datetime.now(dt.timezone.utc)
    gc.collect()
    before = resident_bytes()
    started = time.perf_counter()
    for n in range(parties):
        channel, text = rng.choice(QUESTIONS)
        party = PartyRef(pseudonym=f"{n:064x}", identified_by="bsn")
        data = QuestionData(contact_id=f"m{n}", channel=channel, text=text, party=party, received_at=now)
        value = QuestionAsked.create(source=SOURCE, data=data, subject=data.contact_id, time=now).to_bytes()
        key = party.pseudonym.encode()
        records.question(ConsumerRecord("contacts", n % PARTITIONS, n, 0, 0, key, value, None, len(key),
                                        len(value), CLOUDEVENT_HEADERS))
    seconds = time.perf_counter() - started
    gc.collect()
    after = resident_bytes()
    stored = state.size()[1]
    return {"parties": parties, "before_mb": before / 2**20, "after_mb": after / 2**20,
            "bytes_per_party": (after - before) / parties, "stored_bytes_per_party": stored / parties,
            "seconds": seconds}


def main(parties: list[int] = typer.Option([100_000, 300_000, 1_000_000], help="Distinct parties, one run each."),
         seed: int = typer.Option(7, help="Which questions each party asks."),
         one: bool = typer.Option(False, hidden=True, help="Measure the first --parties here and print JSON.")) -> None:
    if one:
        print(json.dumps(measure(parties[0], seed)))
        return
    print(f"seed {seed}; each run in a process of its own")
    for count in parties:
        done = subprocess.run([sys.executable, __file__, "--one", "--parties", str(count), "--seed", str(seed)],
                              capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{r['parties']:>9,} parties: resident {r['before_mb']:6.0f} MB → {r['after_mb']:6.0f} MB, "
              f"{r['bytes_per_party']:6.0f} bytes a party ({r['stored_bytes_per_party']:.0f} of them the stored "
              f"state's bytes), routed in {r['seconds']:.0f} s")


if __name__ == "__main__":
    typer.run(main)
