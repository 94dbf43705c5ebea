"""``python -m gateway run`` as a child process, as the system tests start it: its config
text, what they ask it (the proxied port, /readyz, /metrics, its JSON log lines) and how they
wait for it. The fixture that starts and kills it is ``launch`` (tests/system/conftest.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.configs import config_text
from tests.support.polling import DEADLINE, eventually
from tests.support.tokens import mint

SECRET = "system-test-secret-0123456789abcdef-0123456789"
COOKIE = "next-auth.session-token"


def process_config_text(
    upstream_port: int,
    port: int,
    metrics_port: int,
    *,
    max_age: str = "1d",
    grace: str = "20s",
    client_header: str = "10s",
    extra: str = "",
    more_routes: Sequence[str] = (),
) -> str:
    """The config of a system test's gateway: one policy, NextAuth's session endpoint on a
    passive route (as every shipped config has it, so loading warns of nothing), ``/api/``
    answering 401 without a session, a public catch-all (``more_routes`` between them), JSON
    logs at info."""
    return config_text(
        listen=f"127.0.0.1:{port}",
        metrics_listen=f"127.0.0.1:{metrics_port}",
        upstream=f"http://127.0.0.1:{upstream_port}",
        secrets=[SECRET],
        policies={"general": f"max_age: {max_age}"},
        routes=[
            "name: session, path: /api/auth/session, public: true, activity: false",
            "name: api, path: /api/, unauthenticated: 401",
            *more_routes,
            "name: app, path: /, public: true",
        ],
        extra=(
            f"timeouts: {{ shutdown_grace: {grace}, client_header: {client_header} }}\n"
            "log: { level: info, format: json }\n"
            f"{extra}"
        ),
    )


def session_cookie(age: int) -> str:
    """A valid session for ``sub: alice``, written ``age`` seconds ago (real time: the
    gateway under test runs on the real clock)."""
    token = mint({"sub": "alice"}, iat=int(time.time()) - age, secrets=[SECRET], cookie=COOKIE)
    return f"{COOKIE}={token}"


def sha12(text: str) -> str:
    """The ``gateway_config_info`` label of a config file with this text."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie nobody reaped yet does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


async def refuses_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    config: Path
    port: int
    metrics_port: int
    output: Path
    client: aiohttp.ClientSession
    render: Callable[..., str]  # config text on this gateway's ports, with other options

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def admin_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines the gateway wrote so far (access lines and events)."""
        return [json.loads(line) for line in self.log().splitlines() if line.startswith("{")]

    def send(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    async def get(self, path: str, **kwargs: Any) -> tuple[int, str]:
        async with self.client.get(self.url(path), **kwargs) as response:
            return response.status, await response.text()

    async def readyz(self) -> tuple[int, Any]:
        return await self.admin("/readyz")

    async def admin(self, path: str) -> tuple[int, Any]:
        async with self.client.get(self.admin_url(path)) as response:
            return response.status, await response.json()

    async def scrape(self) -> Samples:
        async with self.client.get(self.admin_url("/metrics")) as response:
            text = await response.text()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    async def exited(self, timeout: float = DEADLINE) -> int:
        async def done() -> bool:
            return self.process.poll() is not None

        await eventually(done, "the gateway to exit", timeout)
        assert self.process.returncode is not None
        return self.process.returncode

    async def ready(self) -> None:
        async def answered() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the gateway exited early:\n{self.log()}")
            try:
                status, _ = await self.admin("/readyz")
            except aiohttp.ClientError:
                return False
            return status == 200

        await eventually(answered, "/readyz to answer 200")


Launch = Callable[..., Awaitable[GatewayProcess]]
