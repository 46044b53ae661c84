"""Zeventerpen's residents as the simulator draws them: made-up people with identifiers that pass the intake's
checks (a BSN passing the eleven test, a dialable mobile number, an e-mail address). Pure."""

from __future__ import annotations

import random
from dataclasses import dataclass

_FIRST = ("Anna", "Bram", "Daan", "Emma", "Fatima", "Gerrit", "Hanneke", "Ilse", "Jan", "Kees", "Lotte", "Mohamed",
          "Noor", "Olga", "Piet", "Rik", "Sanne", "Tim", "Yusuf", "Zoë")
_LAST = ("de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos",
         "Peters", "Hendriks", "van Dijk", "Yilmaz", "El Amrani", "Kok", "Dekker", "van Leeuwen", "Brouwer")


def valid_bsn(rng: random.Random) -> str:
    """A random nine-digit number that passes the eleven test (for simulation only)."""
    while True:
        digits = [rng.randint(0, 9) for _ in range(8)]
        total = sum(d * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2)))
        last = total % 11  # total - last ≡ 0 (mod 11)
        if last < 10 and digits[0] != 0:
            return "".join(map(str, digits)) + str(last)


@dataclass(frozen=True)
class Resident:
    """One made-up resident: who the channels may know them by."""

    bsn: str
    name: str
    phone: str
    email: str


def residents(count: int, rng: random.Random) -> tuple[Resident, ...]:
    """``count`` different residents."""
    people: dict[str, Resident] = {}
    while len(people) < count:
        bsn = valid_bsn(rng)
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{first}.{last}".lower().replace(" ", "").replace("ë", "e")
        phone = f"06{rng.randint(10_000_000, 59_999_999)}"
        people.setdefault(bsn, Resident(bsn=bsn, name=f"{first} {last}", phone=phone,
                                        email=f"{local}{len(people) + 1}@example.nl"))
    return tuple(people.values())
