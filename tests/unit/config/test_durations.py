"""Durations in the config: parse_duration / format_duration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config.durations import MAX_DURATION, format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        pytest.param(0, 0, id="int-zero"),
        pytest.param(90, 90, id="int-seconds"),
        pytest.param("90", 90, id="digits-string"),
        pytest.param("90s", 90, id="seconds"),
        pytest.param("15m", 900, id="minutes"),
        pytest.param("6h", 21_600, id="hours"),
        pytest.param("1d", 86_400, id="days"),
        pytest.param("2w", 1_209_600, id="weeks"),
        pytest.param("1h30m", 5_400, id="compound-hours-minutes"),
        pytest.param("1w2d3h4m5s", 788_645, id="compound-every-unit"),
        pytest.param(" 5m ", 300, id="surrounding-spaces"),
        pytest.param("0s", 0, id="zero-with-unit"),
        pytest.param(MAX_DURATION, MAX_DURATION, id="the-maximum"),
    ],
)
def test_parse_duration_accepts(value: object, seconds: int) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(True, "is a boolean, not a duration", id="boolean"),
        pytest.param(-1, "is negative", id="negative-int"),
        pytest.param("-5s", "is negative", id="negative-string"),
        pytest.param("1.5h", "is not a duration", id="fraction"),
        pytest.param(1.5, "is not a duration", id="float"),
        pytest.param(None, "is not a duration", id="none"),
        pytest.param("", "is not a duration", id="empty"),
        pytest.param("h", "is not a duration", id="unit-only"),
        pytest.param("5x", "is not a duration", id="unknown-unit"),
        pytest.param("5 m", "is not a duration", id="inner-space"),
        pytest.param("5M", "is not a duration", id="upper-case-unit"),
        pytest.param("1m1h", "out of order", id="units-out-of-order"),
        pytest.param("1h1h", "repeats a unit", id="unit-repeated"),
        pytest.param("٣s", "is not a duration", id="non-ascii-digit"),
        pytest.param("9" * 5000, "is not a duration", id="huge-digit-string"),
        pytest.param(MAX_DURATION + 1, "is longer than the 520w maximum", id="too-long"),
        pytest.param("521w", "is longer than the 520w maximum", id="too-long-string"),
    ],
)
def test_parse_duration_refuses(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_duration(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(7200, "2h", id="hours"),
        pytest.param(90, "90s", id="seconds"),
        pytest.param(5400, "90m", id="minutes-not-hours"),
        pytest.param(0, "0s", id="zero"),
        pytest.param(61, "61s", id="odd-seconds"),
        pytest.param(86_400, "1d", id="day"),
        pytest.param(90_000, "25h", id="hours-not-days"),
        pytest.param(1_209_600, "2w", id="weeks"),
    ],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=MAX_DURATION))
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
