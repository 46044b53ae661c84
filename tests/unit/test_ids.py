"""The fast name-based ids are the standard library's, character for character."""

import random
import uuid

from plumbing.ids import uuid5


def test_uuid5_is_the_standard_librarys_for_any_name():
    seed = 20261203
    rng = random.Random(seed)
    namespace = uuid.UUID("5b0c6f1e-2a8e-4d6b-9a51-6c0e3c1f7d10")
    names = ["", "a", "ë€\n中", *("".join(rng.choice("abc\n:-é0") for _ in range(rng.randrange(80)))
                                  for _ in range(2000))]
    for name in names:
        assert uuid5(namespace, name) == str(uuid.uuid5(namespace, name)), (seed, name)
    assert uuid5(uuid.NAMESPACE_DNS, "python.org") == "886313e1-3b8a-5372-9b90-0c9aee199e5d"
