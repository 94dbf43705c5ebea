"""After a known mix of requests through the real gateway, the metrics say exactly what
happened: scraped from the registry and over HTTP from the metrics app, in both formats."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_prometheus
from prometheus_client.utils import floatToGoString

from gateway.observe.metrics import AGE_BUCKETS
from gateway.serve.metrics_port import Readiness, build_admin_app
from tests.integration.request_mix import CASES, mix_harness, send_mix
from tests.support.harness import Harness, MakeHarness

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(families: Iterable[Metric]) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in families
        for s in family.samples
        if not s.name.endswith("_created")
    }


def scrape(registry: CollectorRegistry) -> Samples:
    return samples(parse_prometheus(generate_latest(registry).decode()))


def delta(before: Samples, after: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """The change of every sample of ``name`` (labels -> increase), zero changes left out."""
    keys = {labels for metric, labels in after if metric == name}
    changes = {labels: after[(name, labels)] - before.get((name, labels), 0.0) for labels in keys}
    return {labels: value for labels, value in changes.items() if value}


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


@pytest.fixture
async def mixed(harness_factory: MakeHarness) -> tuple[Harness, Samples, Samples]:
    gw = await mix_harness(harness_factory)
    before = scrape(gw.registry)
    await send_mix(gw)
    return gw, before, scrape(gw.registry)


@pytest.fixture
async def metrics_client(
    mixed: tuple[Harness, Samples, Samples], aiohttp_client: Any
) -> TestClient[Any, Any]:
    gw = mixed[0]
    app = build_admin_app(Readiness(gw.config), gw.registry)
    client: TestClient[Any, Any] = await aiohttp_client(app, server_kwargs={"host": "127.0.0.1"})
    return client


def expected_decisions() -> dict[frozenset[tuple[str, str]], float]:
    counts = Counter(
        (c.sent.route, c.sent.policy or "none", c.sent.decision) for c in CASES if c.sent.decision
    )
    return {labels(route=r, policy=p, decision=str(d)): n for (r, p, d), n in counts.items()}


async def test_one_decision_per_routed_request(mixed: tuple[Harness, Samples, Samples]) -> None:
    _, before, after = mixed
    assert delta(before, after, "gateway_auth_decisions_total") == expected_decisions()
    assert expected_decisions() == {
        labels(route="app", policy="general", decision="allowed"): 1,
        labels(route="app", policy="general", decision="refreshed"): 1,
        labels(route="login", policy="none", decision="public"): 2,
        labels(route="nextauth", policy="admin", decision="public"): 1,
        labels(route="app", policy="none", decision="unauthenticated"): 1,
        labels(route="app", policy="none", decision="invalid"): 1,
        labels(route="app", policy="general", decision="expired"): 1,
        labels(route="admin", policy="general", decision="forbidden"): 1,
        labels(route="dead", policy="general", decision="allowed"): 1,
        labels(route="_gateway", policy="general", decision="allowed"): 1,
    }


async def test_requests_by_route_method_and_code(mixed: tuple[Harness, Samples, Samples]) -> None:
    _, before, after = mixed
    assert delta(before, after, "gateway_requests_total") == {
        labels(route="app", method="GET", code="200"): 2,
        labels(route="app", method="GET", code="401"): 3,
        labels(route="login", method="GET", code="200"): 1,
        labels(route="login", method="other", code="200"): 1,
        labels(route="nextauth", method="GET", code="200"): 1,
        labels(route="admin", method="GET", code="403"): 1,
        labels(route="none", method="GET", code="404"): 1,
        labels(route="none", method="GET", code="400"): 1,
        labels(route="dead", method="POST", code="502"): 1,
        labels(route="_gateway", method="GET", code="200"): 1,
    }


async def test_request_duration_observed_once_per_request(
    mixed: tuple[Harness, Samples, Samples],
) -> None:
    _, before, after = mixed
    per_route = Counter(c.sent.route for c in CASES)
    assert delta(before, after, "gateway_request_duration_seconds_count") == {
        labels(route=route): n for route, n in per_route.items()
    }
    for route, n in per_route.items():
        inf = after[("gateway_request_duration_seconds_bucket", labels(route=route, le="+Inf"))]
        assert inf == n


async def test_refreshes_and_session_ages(mixed: tuple[Harness, Samples, Samples]) -> None:
    _, before, after = mixed
    assert delta(before, after, "gateway_session_refreshes_total") == {labels(policy="general"): 1}
    ages = [c.sent for c in CASES if c.sent.age is not None]
    assert delta(before, after, "gateway_session_age_seconds_count") == {
        labels(policy="general"): 6,
        labels(policy="admin"): 1,
    }
    for policy in ("general", "admin"):
        mine = [s.age for s in ages if s.policy == policy and s.age is not None]
        name = "gateway_session_age_seconds"
        assert after[(f"{name}_sum", labels(policy=policy))] == sum(mine)
        for bound in AGE_BUCKETS:
            le = floatToGoString(bound)  # type: ignore[no-untyped-call]
            bucket = after[(f"{name}_bucket", labels(policy=policy, le=le))]
            assert bucket == sum(1 for age in mine if age <= bound)


def test_session_age_buckets_span_minutes_to_weeks() -> None:
    assert AGE_BUCKETS[0] == 60 and AGE_BUCKETS[-1] >= 14 * 86400
    assert list(AGE_BUCKETS) == sorted(AGE_BUCKETS)


async def test_upstream_durations_and_errors(mixed: tuple[Harness, Samples, Samples]) -> None:
    gw, before, after = mixed
    live = gw.config.upstream.label
    dead = next(r.upstream.label for r in gw.config.routes if r.name == "dead")
    proxied = sum(1 for c in CASES if c.sent.proxied)
    assert delta(before, after, "gateway_upstream_duration_seconds_count") == {
        labels(upstream=live): proxied
    }
    assert delta(before, after, "gateway_upstream_errors_total") == {
        labels(upstream=dead, reason="connect"): 1
    }


async def test_inflight_is_back_at_zero(mixed: tuple[Harness, Samples, Samples]) -> None:
    assert mixed[2][("gateway_inflight_requests", frozenset())] == 0


async def test_no_label_carries_a_raw_path_or_user(mixed: tuple[Harness, Samples, Samples]) -> None:
    text = generate_latest(mixed[0].registry).decode()
    for leak in ("/app/", "/nowhere", "%00", "user-bob", "query-secret", "bob@example.com"):
        assert leak not in text


async def test_http_scrape_matches_the_registry(
    mixed: tuple[Harness, Samples, Samples], metrics_client: TestClient[Any, Any]
) -> None:
    response = await metrics_client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert samples(parse_prometheus(await response.text())) == scrape(mixed[0].registry)


async def test_openmetrics_when_asked(
    mixed: tuple[Harness, Samples, Samples], metrics_client: TestClient[Any, Any]
) -> None:
    response = await metrics_client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["Content-Type"].startswith("application/openmetrics-text")
    body = await response.text()
    assert body.endswith("# EOF\n")
    parsed = parse_openmetrics(body)  # type: ignore[no-untyped-call]
    families = {family.name: family for family in parsed}
    assert families["gateway_requests"].type == "counter"
    assert families["gateway_session_age_seconds"].type == "histogram"
    counted = samples(families.values())
    total = sum(v for (name, _), v in counted.items() if name == "gateway_requests_total")
    assert total == len(CASES)
