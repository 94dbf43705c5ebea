"""Times for ``gateway explain``: ``--at`` parsed, unix seconds shown as ISO 8601 and as
"in 1h 5m" / "2d ago" from the moment explained."""

from __future__ import annotations

import re
from datetime import UTC, datetime

OUT_OF_RANGE = "(out of range)"


_UNIX = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,9})?")


_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_time(text: str) -> float:
    """``--at``: unix seconds, or an ISO 8601 date or time (UTC when it names no offset).
    Raises ValueError with a phrase naming the rule."""
    text = text.strip()
    if _UNIX.fullmatch(text):
        at = float(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is neither unix seconds nor an ISO 8601 "
                "time such as 2030-01-15T08:00:00Z"
            ) from None
        at = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if iso(at) == OUT_OF_RANGE:
        raise ValueError(f"{text} is outside the years 1 to 9999")
    return at


def iso(t: float) -> str:
    """``t`` (unix seconds) as ISO 8601 UTC to the second."""
    try:
        moment = datetime.fromtimestamp(t, UTC)
    except (OverflowError, ValueError, OSError):  # odd but decryptable claims: 2**53, -2**53
        return OUT_OF_RANGE
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def relative(t: float, at: float) -> str:
    """``in 1h 5m``, ``2d ago`` or ``now``: ``t`` seen from ``at``, to the second."""
    delta = round(t - at)
    if delta == 0:
        return "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(-delta)} ago"


def _span(seconds: int) -> str:
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)


def unix(t: float) -> int | float:
    return int(t) if float(t).is_integer() else t
