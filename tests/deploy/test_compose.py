"""deploy/docker-compose.yml, checked without a Docker engine: parsed, and every name, port
and path cross-checked against the files it ties together (the Dockerfile, the gateway
config, prometheus.yml, Grafana's provisioning, the dashboard). The demo app it runs is
started for real."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import GatewayConfig, load_config
from tests.deploy import dockerfile
from tests.deploy.support import DEPLOY, Process, free_port, http_get, wait_http

COMPOSE = DEPLOY / "docker-compose.yml"
SECRET = "compose-test-secret-0123456789abcdefghijklmn"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"][name]
    return found


def mounts(svc: dict[str, Any]) -> dict[str, Path]:
    """Bind mounts: container path -> host path (relative to deploy/, as compose reads it)."""
    found = {}
    for volume in svc.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            found[target] = (DEPLOY / source).resolve()
    return found


def flag(svc: dict[str, Any], name: str) -> str:
    (value,) = [arg.split("=", 1)[1] for arg in svc["command"] if arg.startswith(f"--{name}=")]
    return str(value)


def in_container(svc: dict[str, Any], path: str) -> Path:
    """The host file behind a container path, through the service's bind mounts."""
    for target, source in sorted(mounts(svc).items(), key=lambda m: -len(m[0])):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return source / path[len(target) :].lstrip("/")
    raise AssertionError(f"{path} is not mounted")


@pytest.fixture(scope="module")
def gateway_config(compose: dict[str, Any]) -> GatewayConfig:
    svc = service(compose, "gateway")
    path = in_container(svc, svc["command"][-1])
    return load_config(path, env={"NEXTAUTH_SECRET": SECRET})


def test_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"gateway", "demo", "prometheus", "grafana"}


@pytest.mark.parametrize("name", ["gateway", "demo"])
def test_image_built_from_the_dockerfile(compose: dict[str, Any], name: str) -> None:
    build = service(compose, name)["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert (context / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
    assert (context / ".dockerignore").is_file()


def test_every_bind_mount_exists(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for target, source in mounts(svc).items():
            assert source.exists(), f"{name}: {source} (for {target}) does not exist"


def test_gateway_runs_the_image_command_on_the_mounted_config(compose: dict[str, Any]) -> None:
    final = dockerfile.stages(DEPLOY / "Dockerfile")[-1]
    svc = service(compose, "gateway")
    assert svc["command"] == final.one("CMD").exec_form()
    assert in_container(svc, svc["command"][-1]) == (DEPLOY / "compose/gateway.yaml").resolve()


def test_secret_is_required_from_the_environment(compose: dict[str, Any]) -> None:
    for name in ("gateway", "demo"):
        value = service(compose, name)["environment"]["NEXTAUTH_SECRET"]
        assert value.startswith("${NEXTAUTH_SECRET:?"), value  # compose stops when unset


def test_gateway_reaches_the_demo_service(
    compose: dict[str, Any], gateway_config: GatewayConfig
) -> None:
    demo = service(compose, "demo")
    listen = demo["command"][-1]
    assert gateway_config.upstream.host == "demo"
    assert listen.endswith(f":{gateway_config.upstream.port}")
    assert str(gateway_config.upstream.port) in demo["expose"]
    assert in_container(demo, demo["command"][0]) == in_container(
        service(compose, "gateway"), "/etc/gateway/gateway.yaml"
    )  # one secret, one format


def test_only_the_proxied_port_is_published(
    compose: dict[str, Any], gateway_config: GatewayConfig
) -> None:
    published = service(compose, "gateway")["ports"]
    # Loopback only: the compose demo's login page lets anyone pick the admin user.
    port = gateway_config.listen.port
    assert published == [f"127.0.0.1:{port}:{port}"]
    for name in ("prometheus", "grafana"):
        assert all(p.startswith("127.0.0.1:") for p in service(compose, name)["ports"])


def test_prometheus_scrapes_the_gateway_metrics_port(
    compose: dict[str, Any], gateway_config: GatewayConfig
) -> None:
    svc = service(compose, "prometheus")
    config = yaml.safe_load(in_container(svc, flag(svc, "config.file")).read_text())
    (job,) = config["scrape_configs"]
    assert job["static_configs"] == [{"targets": [f"gateway:{gateway_config.metrics_listen.port}"]}]
    for rules in config["rule_files"]:
        assert (in_container(svc, flag(svc, "config.file")).parent / rules).is_file()
    assert f'job=~"{job["job_name"]}|' in (DEPLOY / "prometheus/alerts.yml").read_text()


def test_grafana_reads_prometheus(compose: dict[str, Any]) -> None:
    grafana, prometheus = service(compose, "grafana"), service(compose, "prometheus")
    provisioning = in_container(grafana, "/etc/grafana/provisioning")
    (source,) = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())[
        "datasources"
    ]
    port = flag(prometheus, "web.listen-address").rpartition(":")[2]
    assert source["url"] == f"http://prometheus:{port}"
    assert source["type"] == "prometheus"


def test_grafana_provisions_the_dashboard(compose: dict[str, Any]) -> None:
    grafana = service(compose, "grafana")
    provisioning = in_container(grafana, "/etc/grafana/provisioning")
    (provider,) = yaml.safe_load((provisioning / "dashboards/gateway.yml").read_text())["providers"]
    folder = in_container(grafana, provider["options"]["path"] + "/gateway-dashboard.json")
    assert folder == (DEPLOY / "grafana/gateway-dashboard.json").resolve()
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert in_container(grafana, home) == folder
    assert json.loads(folder.read_text())["uid"] == "session-gateway"


def test_demo_app_serves_its_login_page(compose: dict[str, Any], tmp_path: Path) -> None:
    """The demo service's command, run here on loopback with the compose config."""
    demo = service(compose, "demo")
    script = in_container(demo, demo["entrypoint"][-1])
    config = in_container(demo, demo["command"][0])
    port = free_port()
    process = Process(
        [sys.executable, str(script), str(config), f"127.0.0.1:{port}"],
        tmp_path / "demo.log",
        env={"NEXTAUTH_SECRET": SECRET, "PATH": "/usr/bin"},
    )
    try:
        wait_http(process, port, "/login")
        status, _, body = http_get(port, "/login")
        assert status == 200 and b"Sign in" in body
    finally:
        process.stop()
