"""The pieces of the end-to-end stack: where things are, the servers as child processes,
and :class:`Stack`, the running gateway as the browser sees it."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.config import GatewayConfig, Policy
from gateway.session.token import SessionCodec

ROOT = Path(__file__).resolve().parents[2]
APP_DIR = ROOT / "examples" / "nextjs-app"
CONFIG = ROOT / "examples" / "e2e.yaml"
OUTPUT = ROOT / "test-output" / "e2e"  # screenshots and server logs; git-ignored
CHROMIUM = Path("/usr/bin/chromium")
NEXT_BIN = APP_DIR / "node_modules" / "next" / "dist" / "bin" / "next"
COOKIE = "next-auth.session-token"
START_WITHIN = 60.0  # seconds for a server to answer; `next start` takes about one

# The flags, plus two that keep the browser on loopback: no proxy, and no name
# resolution (every URL the test opens is on 127.0.0.1).
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI; Chromium refuses to start sandboxed as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Without a proxy handler urllib would honour *_proxy variables even for loopback.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Stack:
    """The running gateway (and the app behind it) as the browser sees it."""

    origin: str  # http://127.0.0.1:<gateway port>: the only origin the browser talks to
    metrics: str  # http://127.0.0.1:<metrics port>
    config: GatewayConfig = field(repr=False)  # what the gateway subprocess loaded

    def policy(self, name: str) -> Policy:
        return next(p for p in self.config.policies if p.name == name)

    def url(self, path: str) -> str:
        return self.origin + path

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a session cookie value, decrypted as the gateway does."""
        codec = SessionCodec(self.config.session.flavor, self.config.session.secrets)
        return dict(codec.decode(token, COOKIE).claims)

    def metrics_text(self) -> str:
        with _DIRECT.open(self.metrics + "/metrics", timeout=5) as answer:
            text: str = answer.read().decode()
            return text

    def metric(self, name: str, **labels: str) -> float:
        """The sum of the samples called ``name`` whose labels include ``labels``; 0 when
        there are none yet (a counter's labelled child appears at its first increment)."""
        return sum(
            sample.value
            for family in text_string_to_metric_families(self.metrics_text())
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )


def require_setup() -> None:
    """Fail loudly, naming the fix, when `make e2e` has not prepared the machine."""
    missing = [
        str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p)
        for p in (CHROMIUM, NEXT_BIN, APP_DIR / ".next" / "BUILD_ID")
        if not p.exists()
    ]
    if shutil.which("node") is None:
        missing.append("node on PATH")
    if missing:
        pytest.fail(f"end-to-end setup missing: {', '.join(missing)}; run `make e2e`")


class Server:
    """A child process whose output goes to a log file in the output folder."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.log_path = OUTPUT / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, url: str) -> None:
        deadline = time.monotonic() + START_WITHIN
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited ({self.process.returncode}):\n{self.log_tail()}")
            if _answers(url):
                return
            time.sleep(0.1)
        pytest.fail(f"{self.name} did not answer {url} within {START_WITHIN}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=2) as answer:
            return bool(answer.status < 500)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code < 500
    except OSError:
        return False


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEXTAUTH_", "E2E_"))}
    env["NEXT_TELEMETRY_DISABLED"] = "1"  # Next.js sends no telemetry (nothing leaves loopback)
    return env
