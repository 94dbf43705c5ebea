"""The live stack for the Prometheus and Grafana tests, started once: a small upstream, the
gateway (`python -m gateway run`, as operators start it), and a real Prometheus scraping the
gateway's metrics port every second. Traffic of every decision kind goes through the gateway
in two rounds, with a config reload that succeeds and one that fails in between, so every
counter has moved between two scrapes and every rate the dashboard draws is non-zero.
Every wait polls Prometheus until a deadline; nothing sleeps a fixed time."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy import traffic
from tests.deploy.prometheus import PrometheusAPI, start_prometheus
from tests.deploy.support import ROOT, Process, free_port, wait_for, wait_http

ROUNDS = 2
JOB = 'job="gateway"'


@dataclass(frozen=True)
class Live:
    prometheus: PrometheusAPI
    gateway: Process
    started: float  # unix time Prometheus began scraping; range queries start here
    config: Path


def counted(api: PrometheusAPI, expr: str, expected: float) -> bool:
    value = api.value(expr)
    return value is not None and value >= expected


def wait_scraped(api: PrometheusAPI, expr: str, expected: float) -> None:
    wait_for(
        f"Prometheus to see {expr} reach {expected:g}",
        lambda: counted(api, expr, expected),
        deadline=15,
    )


def reload_both_ways(api: PrometheusAPI, gateway: Process, config: Path) -> None:
    """SIGHUP on the unchanged file (a success), then a broken file replacing it the way an
    editor does (the file watch notices; a failure). The gateway keeps its config."""
    gateway.signal(signal.SIGHUP)
    wait_scraped(api, f'gateway_config_reloads_total{{{JOB}, result="success"}}', 1)
    broken = config.with_suffix(".new")
    broken.write_text(config.read_text().replace("max_age: 2h", "max_age: 3h, maxAge: 1h"))
    os.replace(broken, config)
    wait_scraped(api, f'gateway_config_reloads_total{{{JOB}, result="failure"}}', 1)


def one_more_scrape(api: PrometheusAPI) -> None:
    """Until Prometheus has scraped once more: a range query ending now then has a point
    whose rate window holds the last round's increase, wherever its steps fall."""
    seen = api.value(f"timestamp(up{{{JOB}}})")
    wait_scraped(api, f"timestamp(up{{{JOB}}})", (seen or 0) + 0.5)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    work = tmp_path_factory.mktemp("live")
    ports = {name: free_port() for name in ("proxy", "metrics", "upstream", "closed")}
    config = work / "gateway.yaml"
    config.write_text(traffic.CONFIG.format(**ports, cookie=traffic.COOKIE, secret=traffic.SECRET))
    upstream = Process(
        [sys.executable, str(ROOT / "tests/deploy/upstream_server.py"), str(ports["upstream"])],
        work / "upstream.log",
        env={**os.environ, "NEXTAUTH_SECRET": traffic.SECRET},
    )
    gateway = Process(
        [sys.executable, "-m", "gateway", "run", "--config", str(config)],
        work / "gateway.log",
        cwd=ROOT,
    )
    processes = [upstream, gateway]
    try:
        wait_http(upstream, ports["upstream"], "/")
        wait_http(gateway, ports["metrics"], "/healthz")
        prometheus, api = start_prometheus(work / "prometheus", ports["metrics"])
        processes.append(prometheus)
        started = time.time()
        wait_scraped(api, f"up{{{JOB}}}", 1)
        for round_ in range(1, ROUNDS + 1):
            traffic.send_all(ports["proxy"])
            wait_scraped(api, f"sum(gateway_requests_total{{{JOB}}})", round_ * len(traffic.CASES))
            if round_ == 1:
                reload_both_ways(api, gateway, config)
        one_more_scrape(api)
        yield Live(api, gateway, started, config)
    finally:
        for process in reversed(processes):
            process.stop()
