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
    ("phone", "Ja hallo, ik bel over mijn zorgtoeslag, die is gestopt."),
    ("web", "Wanneer krijg ik mijn AOW? Ik word volgend jaar 67."),
    ("email", "Ik wil een klacht indienen over de medewerker aan de balie, die was erg onvriendelijk."),
    ("web", "Mijn achternaam is verkeerd gespeld in de basisregistratie, kan dat worden aangepast?"),
    ("phone", "Kunt u mij terugbellen over mijn aanvraag? Ik ben nu aan het werk."),
    ("chat", "ik heb een idee voor een speeltuin in de wijk"),
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
    """``count`` question bodies for ``POST /v1/questions``; four in five from known citizens, some of
    whom ask again (so the ask-once rule links them to their open case)."""
    rng = random.Random(seed)
    citizens = [valid_bsn(rng) for _ in range(max(1, count // 3))]
    for _ in range(count):
        channel, text = rng.choice(QUESTIONS)
        body: dict[str, Any] = {"channel": channel, "text": text}
        if rng.random() < 0.8:
            body["party"] = {"bsn": rng.choice(citizens)}
        yield body
