"""The README's code blocks, for tests that keep what the program prints equal to what the README shows."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def code_block(starting_with: str) -> str:
    """The one fenced code block of the README whose text starts with ``starting_with``, without the fences."""
    blocks = [text for text in re.findall(r"^```\w*\n(.*?)^```", README.read_text(), re.MULTILINE | re.DOTALL)
              if text.startswith(starting_with)]
    assert len(blocks) == 1, f"expected one README code block starting with {starting_with!r}, found {len(blocks)}"
    return blocks[0].rstrip("\n")
