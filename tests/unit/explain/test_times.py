"""Times in ``gateway explain`` (gateway.explain.times): reading ``--at``, relative spans,
ISO 8601 out of range."""

from __future__ import annotations

import pytest

from gateway.explain import OUT_OF_RANGE, iso, parse_time, relative

AT = 1_800_000_000  # 2027-01-15T08:00:00Z
HOUR, DAY = 3600, 86400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1800000000", AT, id="unix"),
        pytest.param(" 1800000000.5 ", AT + 0.5, id="unix-fraction"),
        pytest.param("2027-01-15T08:00:00Z", AT, id="iso-z"),
        pytest.param("2027-01-15T09:30:00+01:30", AT, id="iso-offset"),
        pytest.param("2027-01-15 08:00:00", AT, id="iso-naive-is-utc"),
        pytest.param("2027-01-15", AT - 8 * HOUR, id="date"),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("yesterday", "is neither unix seconds nor an ISO 8601 time", id="word"),
        pytest.param("", "is neither unix seconds nor an ISO 8601 time", id="empty"),
        pytest.param("1e9", "is neither unix seconds nor an ISO 8601 time", id="exponent"),
        pytest.param("9" * 13, "is neither unix seconds nor an ISO 8601 time", id="too-long"),
        pytest.param("-99999999999", "outside the years 1 to 9999", id="before-year-1"),
    ],
)
def test_parse_time_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        pytest.param(AT, "now", id="now"),
        pytest.param(AT + 0.4, "now", id="under-half-a-second"),
        pytest.param(AT + 90, "in 1m 30s", id="future"),
        pytest.param(AT - DAY - 5, "1d 5s ago", id="past-skips-zero-units"),
        pytest.param(AT + 2 * 604_800 + HOUR, "in 2w 1h", id="weeks"),
    ],
)
def test_relative(t: float, expected: str) -> None:
    assert relative(t, AT) == expected


def test_iso() -> None:
    assert iso(AT) == "2027-01-15T08:00:00Z"
    assert iso(2.0**53) == OUT_OF_RANGE
