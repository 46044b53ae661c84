"""Simulated traffic of the example municipality Zeventerpen: realistic questions on every channel."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

QUESTIONS: tuple[tuple[str, str], ...] = (
    ("phone", "Mijn paspoort verloopt volgende maand, hoe vraag ik een nieuwe aan?"),
    ("web", "Kan ik een id kaart aanvragen voor mijn dochter van 8?"),
    ("counter", "Ik kom voor mijn identiteitskaart, wat moet ik meenemen?"),
    ("chat", "hoe lang duurt het voor mn paspoort klaar is"),
    ("phone", "De kliko is kapot, het deksel is eraf gebroken."),
    ("web", "Onze container heeft een kapot wiel, kan die gerepareerd worden?"),
    ("email", "Mijn afvalbak is bij het legen kapotgegaan. Graag een nieuwe."),
    ("phone", "Ik wil een oud bankstel en een matras laten ophalen."),
    ("web", "Wanneer kan ik grofvuil laten ophalen? Het gaat om meubels."),
    ("letter", "Graag wil ik een afspraak maken om grof vuil op te laten halen."),
    ("phone", "Ik heb een vraag over de bomen in mijn straat."),
    ("email", "Wie kan mij helpen met een vraag over mijn buren?"),
)


def valid_bsn(rng: random.Random) -> str:
    """A random nine-digit number that passes the eleven test (for simulation only)."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        total = sum(d * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2)))
        last = total % 11  # total - last ≡ 0 (mod 11)
        if last < 10 and digits[0] != 0:
            return "".join(map(str, digits)) + str(last)


def questions(count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` question bodies for ``POST /v1/questions``; most from known citizens."""
    rng = random.Random(seed)
    for _ in range(count):
        channel, text = rng.choice(QUESTIONS)
        body: dict[str, Any] = {"channel": channel, "text": text}
        if rng.random() < 0.8:
            body["party"] = {"bsn": valid_bsn(rng)}
        yield body
