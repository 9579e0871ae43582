"""Fractional index strings: sort keys that always leave room between two neighbours.

A key is a base-36 fraction written without its leading "0." and never with a trailing
"0", so that plain string comparison is numeric comparison. Keys are drawn at random
from the open interval between the neighbours (not its exact midpoint), so two peers
inserting between the same neighbours at the same time almost never pick the same key;
readers still sort by (key, id), so even a collision leaves a total order.
"""

from __future__ import annotations

import random as _random

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
_VALUE = {c: i for i, c in enumerate(DIGITS)}
# Number of distinct keys the chosen interval must offer; 36**3 makes a collision of two
# concurrent inserts between the same neighbours a 1-in-46,656 event.
_SPREAD = BASE**3


class InvalidPosition(ValueError):
    """A string that is not a fractional index key."""


def is_valid(key: str) -> bool:
    return bool(key) and all(c in _VALUE for c in key) and not key.endswith("0")


def _check(key: str | None, name: str) -> None:
    if key is not None and not is_valid(key):
        raise InvalidPosition(f"{name}: {key!r} is not a fractional index key")


def _as_int(key: str, width: int) -> int:
    value = 0
    for c in key.ljust(width, "0"):
        value = value * BASE + _VALUE[c]
    return value


def _as_key(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, BASE)
        chars.append(DIGITS[digit])
    return "".join(reversed(chars)).rstrip("0")


def _room_needed(width: int, open_ended: bool) -> int:
    """How many keys of `width` digits the interval must hold before one is drawn from it.

    Each append (or prepend) takes a step of about `_SPREAD` towards the end of the key
    space. If the room beyond the last key were only ever a few steps wide, every few
    appends would lengthen the keys by a digit: 1,000 appends would give keys of some 60
    characters. Asking for room that grows with the width makes each new digit buy
    exponentially more appends, so keys grow with the logarithm of their number.
    """
    if not open_ended:
        return _SPREAD
    return _SPREAD * BASE ** max(0, (width - 4) // 2)


def key_between(
    before: str | None, after: str | None, rng: _random.Random | None = None
) -> str:
    """A key strictly greater than `before` and strictly less than `after`.

    `None` means "no neighbour on that side" (start or end of the list).
    Appends stay short: at the end the key is drawn close to `before`, at the start
    close to `after`.
    """
    _check(before, "before")
    _check(after, "after")
    if before is not None and after is not None and not before < after:
        raise InvalidPosition(f"before {before!r} must sort before after {after!r}")
    rng = rng or _random
    width = max(len(before or ""), len(after or ""), 1)
    open_ended = before is None or after is None
    while True:
        low = _as_int(before, width) if before is not None else 0
        high = _as_int(after, width) if after is not None else BASE**width
        if high - low - 1 >= _room_needed(width, open_ended):
            break
        width += 1
    if after is None:
        high = min(high, low + 2 * _SPREAD)
    elif before is None:
        low = max(low, high - 2 * _SPREAD)
    while True:
        value = rng.randrange(low + 1, high)
        if value % BASE:  # no trailing zero digit
            return _as_key(value, width)


def keys_for_append(last: str | None, count: int, rng: _random.Random | None = None) -> list[str]:
    """`count` increasing keys after `last`."""
    keys: list[str] = []
    for _ in range(count):
        last = key_between(last, None, rng)
        keys.append(last)
    return keys
