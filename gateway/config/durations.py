"""Durations in the config: whole seconds, or ``90s``, ``15m``, ``6h``, ``1d``, ``2w`` and
compounds such as ``1h30m``.

Errors are :class:`ValueError` whose message is a phrase that reads after the value
(``"2x" is not a duration ...``), so the loader can prefix the key path and the value as written.
"""

from __future__ import annotations

import re

UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}

# Ten years. Longer is certainly a typo, and capping keeps `now + max_age` far away from
# the limits of cookie `Expires` dates and datetime arithmetic downstream.
MAX_DURATION = 520 * UNITS["w"]

_HINT = "use whole seconds or 90s, 15m, 6h, 1d, 2w (or 1h30m)"
_SECONDS = re.compile(r"[0-9]{1,20}")
_COMPOUND = re.compile(r"(?:[0-9]{1,20}[wdhms]){1,5}")
_PART = re.compile(r"([0-9]+)([wdhms])")


def parse_duration(value: object) -> int:
    """Seconds in ``value`` (an int, or a string as above); ``ValueError`` otherwise."""
    if isinstance(value, bool):  # bool is an int in Python; `max_age: true` is a mistake
        raise ValueError(f"is a boolean, not a duration; {_HINT}")
    if isinstance(value, int):
        return _bounded(value)
    if not isinstance(value, str):
        raise ValueError(f"is not a duration; {_HINT}")
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return _bounded(int(text))
    if text.startswith("-"):
        raise ValueError("is negative; durations are zero or more")
    return _bounded(_compound(text))


def _compound(text: str) -> int:
    """``1h30m`` -> 5400; every unit at most once, largest first."""
    if not _COMPOUND.fullmatch(text):
        raise ValueError(f"is not a duration; {_HINT}")
    order = list(UNITS)
    seen: list[int] = []
    total = 0
    for number, unit in _PART.findall(text):
        rank = order.index(unit)
        if seen and rank <= seen[-1]:
            raise ValueError("repeats a unit or lists them out of order (write 1h30m)")
        seen.append(rank)
        total += int(number) * UNITS[unit]
    return total


def _bounded(seconds: int) -> int:
    if seconds < 0:
        raise ValueError("is negative; durations are zero or more")
    if seconds > MAX_DURATION:
        raise ValueError(f"is longer than the {format_duration(MAX_DURATION)} maximum")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest exact spelling in one unit: 7200 -> ``2h``, 5400 -> ``90m``, 90 -> ``90s``."""
    for unit, size in UNITS.items():
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
