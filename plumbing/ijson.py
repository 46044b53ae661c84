"""Request bodies as I-JSON (RFC 7493): UTF-8, no unpaired surrogates, no duplicate member names, finite
numbers of sane length, shallow nesting. Anything else is ``MalformedJson`` (a 400), never a crash later on
when the value is encoded again (a lone surrogate) or converted (a 5,000-digit number)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

#: Deeper than any Loket body needs; far below the recursion limit of the decoder.
MAX_DEPTH = 32
#: Longer than any number a Loket body holds; Python refuses to convert integers of 4,300 digits and more.
MAX_NUMBER_CHARS = 100
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedJson(ValueError):
    """The body is not I-JSON; the message says why without quoting the body."""


def loads(body: bytes) -> Any:
    """The JSON value of ``body``, or ``MalformedJson``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedJson("the body is not UTF-8") from None
    try:
        value = json.loads(text, parse_int=_number(int), parse_float=_number(float),
                           parse_constant=_no_constant, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"the body is not JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:
        raise MalformedJson(f"the body nests deeper than {MAX_DEPTH} levels") from None
    _check_strings_and_depth(value)
    return value


def _number(convert: Callable[[str], int | float]) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        if len(text) > MAX_NUMBER_CHARS:
            raise MalformedJson(f"a number is longer than {MAX_NUMBER_CHARS} characters")
        number = convert(text)
        if isinstance(number, float) and not math.isfinite(number):
            raise MalformedJson("a number is too large to be represented")
        return number

    return parse


def _no_constant(name: str) -> None:
    raise MalformedJson(f"{name} is not a JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise MalformedJson("an object has the same member name twice")
    return members


def _check_strings_and_depth(value: Any) -> None:
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise MalformedJson("a string holds an unpaired surrogate (\\ud800-\\udfff)")
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                raise MalformedJson(f"the body nests deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
