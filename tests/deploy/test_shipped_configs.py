"""Every gateway config under deploy/ (any YAML file with a top-level `routes:`), read by the
gateway's own loader: it loads without a warning, and the app's session endpoint, which a
SessionProvider polls, falls in a passive route (a poll must not keep an idle session alive),
reached before NextAuth's other endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.config import GatewayConfig, load_config
from gateway.routes import match_route, normalise
from tests.deploy.support import DEPLOY

ENV = {"NEXTAUTH_SECRET": "s" * 40, "GATEWAY_UPSTREAM": "http://app:3000"}


def shipped() -> list[Path]:
    found = []
    for path in sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")]):
        loaded = yaml.safe_load(path.read_text())
        if isinstance(loaded, dict) and "routes" in loaded:
            found.append(path)
    return found


CONFIGS = shipped()


def ids(path: Path) -> str:
    return str(path.relative_to(DEPLOY))


def test_every_deployment_ships_a_config() -> None:
    assert {ids(p) for p in CONFIGS} == {
        "compose/gateway.yaml",
        "docker/gateway.yaml",
        "kubernetes/gateway.yaml",
    }


@pytest.fixture(params=CONFIGS, ids=ids)
def config(request: pytest.FixtureRequest) -> GatewayConfig:
    return load_config(request.param, env=ENV)


def test_loads_without_a_warning(config: GatewayConfig) -> None:
    assert config.warnings == ()


def test_the_session_endpoint_is_passive(config: GatewayConfig) -> None:
    endpoint = config.session.session_endpoint
    route = match_route(config.routes, normalise(endpoint))
    assert route is not None and route.path == endpoint
    assert route.public and not route.activity
    other = match_route(config.routes, normalise(config.session.auth_path + "/csrf"))
    assert other is not None and other.activity  # the rest of NextAuth's routes are not
