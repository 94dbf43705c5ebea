"""deploy/grafana/gateway-dashboard.json: its shape (what the issue asks it to show, unique
ids, every query through the data source variable), every metric and label it names, and
every panel query and template variable run against the live Prometheus, which has seen
traffic of every kind: each must be valid and return data."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.deploy.conftest import Live
from tests.deploy.metric_names import problems
from tests.deploy.prometheus import SCRAPE_INTERVAL, finite_values
from tests.deploy.support import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "gateway-dashboard.json"
STEP = 1  # seconds between points of a range query, as Grafana's $__interval
# Grafana: $__rate_interval = max($__interval + scrape interval, 4 * scrape interval).
RATE_INTERVAL = max(STEP + SCRAPE_INTERVAL, 4 * SCRAPE_INTERVAL)
GRAFANA_VARIABLES = {
    "__rate_interval": f"{RATE_INTERVAL}s",
    "__interval": f"{STEP}s",
    "__range": "5m",
}
LABEL_VALUES = re.compile(r"^label_values\((?:(.+),\s*)?(\w+)\)$")


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def panels() -> list[dict[str, Any]]:
    return [p for p in load()["panels"] if p["type"] != "row"]


def targets() -> list[tuple[str, dict[str, Any]]]:
    return [(f"{p['title']}/{t['refId']}", t) for p in panels() for t in p["targets"]]


def variables() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = load()["templating"]["list"]
    return found


def substitute(expr: str) -> str:
    """Grafana's variables as Grafana fills them with "All" selected (allValue `.*`)."""
    values = GRAFANA_VARIABLES | {
        v["name"]: v.get("allValue", "") for v in variables() if v["type"] == "query"
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in values, f"unknown variable ${name} in {expr}"
        return str(values[name])

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", fill, expr)


def test_panels_have_unique_ids_and_fit_the_grid() -> None:
    ids = [p["id"] for p in load()["panels"]]
    assert len(ids) == len(set(ids))
    for panel in load()["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_every_query_goes_through_the_datasource_variable() -> None:
    (source,) = [v for v in variables() if v["type"] == "datasource"]
    assert source["query"] == "prometheus"
    for name, target in targets():
        assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, name


@pytest.mark.parametrize(("name", "target"), targets(), ids=[n for n, _ in targets()])
def test_queries_use_only_the_gateway_metrics(name: str, target: dict[str, Any]) -> None:
    assert problems(target["expr"]) == []
    assert "gateway_" in target["expr"]


def metrics_of(panel: dict[str, Any]) -> str:
    return " ".join(t["expr"] for t in panel["targets"])


SHOWN: dict[str, Callable[[dict[str, Any]], bool]] = {
    "requests by decision": lambda p: (
        "sum by (decision) (rate(gateway_auth_decisions_total" in metrics_of(p)
    ),
    "requests by policy": lambda p: (
        "sum by (policy) (rate(gateway_auth_decisions_total" in metrics_of(p)
    ),
    "renewals": lambda p: "gateway_session_refreshes_total" in metrics_of(p),
    "passive re-issues held back": lambda p: "gateway_passive_reissues_total" in metrics_of(p),
    "step-up decisions": lambda p: 'decision="step_up"' in metrics_of(p),
    "every refusal counted as one": lambda p: all(
        kind in metrics_of(p)
        for kind in ("unauthenticated", "invalid", "expired", "forbidden", "step_up")
    ),
    "session-age heatmap per policy": lambda p: (
        p["type"] == "heatmap"
        and p.get("repeat") == "policy"
        and "gateway_session_age_seconds_bucket" in metrics_of(p)
    ),
    "upstream latency": lambda p: "gateway_upstream_duration_seconds_bucket" in metrics_of(p),
    "upstream errors": lambda p: "gateway_upstream_errors_total" in metrics_of(p),
    "reloads": lambda p: "gateway_config_reloads_total" in metrics_of(p),
}


@pytest.mark.parametrize("what", SHOWN)
def test_shows_what_operators_need(what: str) -> None:
    assert any(SHOWN[what](panel) for panel in panels()), f"no panel shows {what}"


@pytest.mark.parametrize(("name", "target"), targets(), ids=[n for n, _ in targets()])
def test_panel_query_returns_data_from_prometheus(
    live: Live, name: str, target: dict[str, Any]
) -> None:
    expr = substitute(target["expr"])
    if target.get("instant"):
        result = live.prometheus.query(expr)
    else:
        result = live.prometheus.query_range(expr, live.started, time.time(), STEP)
    assert finite_values(result), f"{name}: no data for {expr}"


@pytest.mark.parametrize(
    "variable", [v for v in variables() if v["type"] == "query"], ids=lambda v: v["name"]
)
def test_variable_lists_values(live: Live, variable: dict[str, Any]) -> None:
    match = LABEL_VALUES.match(variable["query"]["query"])
    assert match, f"not a label_values() query: {variable['query']}"
    selector, label = substitute(match.group(1) or ""), match.group(2)
    values = live.prometheus.label_values(label, selector)
    assert values, f"${variable['name']}: no values"
    if variable["name"] == "policy":
        assert {"admin", "general"} <= set(values)  # the heatmap repeats per policy


def test_substitution_leaves_no_variable_behind() -> None:
    for _, target in targets():
        assert "$" not in substitute(target["expr"])
