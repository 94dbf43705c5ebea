"""Tally: a turn's observations written at once equal the same observations written one by one
through prometheus-client, in one process and in multiprocess mode (it reaches into a
histogram child's ``_sum``, ``_buckets`` and ``_upper_bounds``: this fails if those change)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.multiprocess import MultiProcessCollector

from gateway.observe.metrics import LATENCY_BUCKETS, Tally

AMOUNTS = st.lists(
    st.one_of(
        st.sampled_from([0.0, *LATENCY_BUCKETS]),
        st.floats(min_value=0, max_value=120, allow_nan=False),
    ),
    max_size=40,
)


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def pair(registry: CollectorRegistry) -> tuple[Counter, Histogram]:
    return (
        Counter("t_requests", "r", ["route"], registry=registry),
        Histogram("t_seconds", "s", ["route"], buckets=LATENCY_BUCKETS, registry=registry),
    )


def record(amounts: list[float], *, tallied: bool) -> CollectorRegistry:
    registry = CollectorRegistry()
    counter, histogram = pair(registry)
    tally = Tally()
    for i, amount in enumerate(amounts):
        route = "a" if i % 3 else "b"
        if tallied:
            tally.inc(counter.labels(route))
            tally.observe(histogram.labels(route), amount)
        else:
            counter.labels(route).inc()
            histogram.labels(route).observe(amount)
    tally.apply()
    return registry


@settings(max_examples=200, deadline=None)
@given(AMOUNTS)
def test_a_tally_writes_what_one_by_one_writes(amounts: list[float]) -> None:
    expected, got = samples(record(amounts, tallied=False)), samples(record(amounts, tallied=True))
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-9), key


def test_an_amount_on_a_bound_is_in_that_bucket() -> None:
    registry = CollectorRegistry()
    _, histogram = pair(registry)
    tally = Tally()
    for amount in (0.005, 0.0050001, 30.0, 61.0):
        tally.observe(histogram.labels("a"), amount)
    tally.apply()
    buckets = {
        dict(labels)["le"]: value
        for (name, labels), value in samples(registry).items()
        if name == "t_seconds_bucket"
    }
    assert buckets["0.0025"] == 0 and buckets["0.005"] == 1  # le: less than or equal
    assert buckets["0.01"] == 2 and buckets["30.0"] == 3 and buckets["60.0"] == 3
    assert buckets["+Inf"] == 4


def test_multiprocess_values_sum_the_same(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --workers the values are memory-mapped files: the tally's writes land there."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    multiprocess = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    monkeypatch.setattr(values, "ValueClass", multiprocess)
    amounts = [0.001, 0.02, 0.02, 7.0, 0.3]
    counter, histogram = pair(CollectorRegistry())
    tally = Tally()
    for amount in amounts:
        tally.inc(counter.labels("a"))
        tally.observe(histogram.labels("a"), amount)
    tally.apply()
    reader = CollectorRegistry()
    MultiProcessCollector(reader, path=str(tmp_path))  # type: ignore[no-untyped-call]
    got = samples(reader)
    assert got[("t_requests_total", (("route", "a"),))] == len(amounts)
    assert got[("t_seconds_count", (("route", "a"),))] == len(amounts)
    assert math.isclose(got[("t_seconds_sum", (("route", "a"),))], sum(amounts))
    assert got[("t_seconds_bucket", (("le", "0.025"), ("route", "a")))] == 3
