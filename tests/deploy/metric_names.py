"""The metric series the gateway exports, from gateway/observe/metrics.py itself, and the gateway
metric names and label matchers that a PromQL expression uses: so a rule or a panel that
names a metric or label the gateway does not have fails a test instead of staying empty."""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from gateway.observe.metrics import GatewayMetrics

SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "gauge": ("",),
    "info": ("_info",),
}
# Labels every scraped series carries besides its own.
TARGET_LABELS = frozenset({"job", "instance"})
SELECTOR = re.compile(r"\b(gateway_[a-z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


def exported() -> dict[str, frozenset[str]]:
    """Every series name the gateway exports -> the label names it may carry."""
    metrics = GatewayMetrics(CollectorRegistry())
    names: dict[str, frozenset[str]] = {}
    for metric in _metric_objects(metrics):
        labels = frozenset(metric._labelnames) | TARGET_LABELS
        for suffix in SUFFIXES[str(metric._type)]:
            extra = {"le"} if suffix == "_bucket" else set()
            names[metric._name + suffix] = labels | extra
    return names


def _metric_objects(holder: object) -> list[MetricWrapperBase]:
    """The metrics held by ``holder``'s attributes, and by the objects it holds (the config
    metrics live in their own object)."""
    found = []
    for value in vars(holder).values():
        if isinstance(value, MetricWrapperBase):
            found.append(value)
        elif getattr(type(value), "__module__", "") == "gateway.observe.metrics":
            found.extend(_metric_objects(value))
    return found


def used(expr: str) -> list[tuple[str, frozenset[str]]]:
    """(metric name, label names matched in its braces) for every gateway selector."""
    found = []
    for match in SELECTOR.finditer(expr):
        matchers = match.group(2) or ""
        found.append((match.group(1), frozenset(MATCHER.findall(matchers))))
    return found


def problems(expr: str) -> list[str]:
    """What in ``expr`` does not exist in the gateway's metrics (empty: all fine)."""
    known = exported()
    found = []
    for name, labels in used(expr):
        if name not in known:
            found.append(f"unknown metric {name}")
        elif labels - known[name]:
            found.append(f"{name} has no label {', '.join(sorted(labels - known[name]))}")
    return found
