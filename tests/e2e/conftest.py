"""The end-to-end stack: examples/nextjs-app under ``next start``, the gateway as a real
subprocess (``python -m gateway run --config examples/e2e.yaml``) in front of it, and
Debian's Chromium driven by Playwright. Every server listens on 127.0.0.1 and the browser
resolves no host name at all, so nothing leaves the machine.

`make e2e` prepares it (chromium from apt, ``npm ci`` and ``next build`` in the example,
Playwright from pip). Anything missing is a failure naming that command, never a skip: an
end-to-end suite that skips itself proves nothing.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gateway.config import load_config
from tests.e2e.stack import (
    APP_DIR,
    CHROMIUM,
    CHROMIUM_ARGS,
    CONFIG,
    NEXT_BIN,
    OUTPUT,
    ROOT,
    Server,
    Stack,
    base_env,
    require_setup,
)
from tests.support import free_ports

try:
    import playwright  # noqa: F401
except ImportError:  # stops the whole run, naming the fix
    raise ImportError("tests/e2e needs the playwright Python package: run `make e2e`") from None

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT.glob("*.png"):
        old.unlink()
    return OUTPUT


@pytest.fixture(scope="session")
def stack(output_dir: Path) -> Iterator[Stack]:
    require_setup()
    gateway_port, metrics_port, app_port = free_ports(3)
    secret = secrets.token_urlsafe(32)
    origin = f"http://127.0.0.1:{gateway_port}"
    env = {**base_env(), "NEXTAUTH_SECRET": secret}
    app_env = {**env, "NEXTAUTH_URL": origin}  # NextAuth builds redirects from it
    gateway_env = {
        **env,
        "E2E_GATEWAY_PORT": str(gateway_port),
        "E2E_METRICS_PORT": str(metrics_port),
        "E2E_APP_PORT": str(app_port),
    }
    servers = [
        Server(
            "app",
            ["node", str(NEXT_BIN), "start", "-H", "127.0.0.1", "-p", str(app_port)],
            app_env,
            APP_DIR,
        ),
        Server(
            "gateway",
            [sys.executable, "-m", "gateway", "run", "--config", str(CONFIG)],
            gateway_env,
            ROOT,
        ),
    ]
    try:
        servers[0].wait_ready(f"http://127.0.0.1:{app_port}/login")
        servers[1].wait_ready(f"http://127.0.0.1:{metrics_port}/readyz")
        config = load_config(CONFIG, env=gateway_env)
        yield Stack(origin, f"http://127.0.0.1:{metrics_port}", config)
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture
def launch(stack: Stack, tmp_path: Path) -> Iterator[Callable[[str], BrowserContext]]:
    """Starts one Chromium per call, each with a fresh profile (its own user-data-dir, so its
    own cookie jar: another person at another machine); all are closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        opened: list[BrowserContext] = []

        def start(profile: str) -> BrowserContext:
            context = playwright.chromium.launch_persistent_context(
                tmp_path / profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": 1000, "height": 700},
            )
            opened.append(context)
            return context

        try:
            yield start
        finally:
            for context in reversed(opened):
                context.close()


@pytest.fixture
def browser_context(launch: Callable[[str], BrowserContext]) -> BrowserContext:
    """One Chromium with a fresh profile for one test."""
    return launch("profile")
