"""A real Prometheus (Debian's `prometheus` package) on loopback, and its HTTP API."""

from __future__ import annotations

import json
import math
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.support import DEPLOY, Process, free_port, http_get, tool, wait_http

SCRAPE_INTERVAL = 1  # seconds: the test waits for scrapes, so keep them frequent


class PrometheusError(AssertionError):
    """The API answered an error (a bad expression, say)."""


class PrometheusAPI:
    def __init__(self, port: int) -> None:
        self.port = port

    def _get(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        status, _, body = http_get(self.port, f"/api/v1/{path}?{query}")
        answer = json.loads(body)
        if status != 200 or answer.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {status} {answer.get('error', body[:300])}")
        return answer["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = at
        result: list[dict[str, Any]] = self._get("query", **params)["result"]
        return result

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._get(
            "query_range", query=expr, start=start, end=end, step=step
        )["result"]
        return result

    def label_values(self, label: str, match: str) -> list[str]:
        values: list[str] = self._get(f"label/{label}/values", **{"match[]": match})
        return values

    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self._get("rules")["groups"] for rule in group["rules"]]

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self._get("targets")["activeTargets"]
        return active

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, or None when it has no result."""
        result = self.query(expr)
        if not result:
            return None
        assert len(result) == 1, f"{expr}: {len(result)} series"
        return float(result[0]["value"][1])


def finite_values(series: list[dict[str, Any]]) -> list[float]:
    """Every finite sample value in a query result (vector or matrix)."""
    points = [p for s in series for p in s.get("values", [s.get("value")]) if p]
    return [v for v in (float(p[1]) for p in points) if math.isfinite(v)]


def start_prometheus(work: Path, metrics_port: int) -> tuple[Process, PrometheusAPI]:
    """Prometheus scraping 127.0.0.1:metrics_port as job `gateway`, every second, with the
    shipped alerting rules loaded and evaluated every second."""
    port = free_port()
    config = {
        "global": {
            "scrape_interval": f"{SCRAPE_INTERVAL}s",
            "evaluation_interval": f"{SCRAPE_INTERVAL}s",
        },
        "rule_files": [str(DEPLOY / "prometheus" / "alerts.yml")],
        "scrape_configs": [
            {"job_name": "gateway", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}
        ],
    }
    (work / "data").mkdir(parents=True)
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    process = Process(
        [
            tool("prometheus"),
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        work / "prometheus.log",
    )
    wait_http(process, port, "/-/ready", deadline=30)
    return process, PrometheusAPI(port)
