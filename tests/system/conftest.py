"""Fixtures for system tests: the real gateway as a subprocess (``python -m gateway run``) on
free loopback ports, in front of a real aiohttp upstream served by the test's event loop.

Every wait polls with a deadline; every process started here is killed (its whole process
group: a supervisor's workers too) when the test ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from gateway.session.token import SessionCodec

T = TypeVar("T")
SECRET = "system-test-secret-0123456789abcdef-0123456789"
COOKIE = "next-auth.session-token"
DEADLINE = 20.0  # seconds any single wait may take before the test fails

CONFIG = """\
listen: 127.0.0.1:{port}
metrics_listen: 127.0.0.1:{metrics_port}
upstream: http://127.0.0.1:{upstream_port}
session:
  flavor: nextauth-v4
  secrets: ["{secret}"]
policies:
  general: {{max_age: {max_age}}}
default_policy: general
routes:
  - {{name: api, path: /api/, unauthenticated: 401}}
{more_routes}
  - {{name: app, path: /, public: true}}
timeouts: {{shutdown_grace: {grace}, client_header: {client_header}}}
log: {{level: info, format: json}}
{extra}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def session_cookie(age: int) -> str:
    """A valid session for ``sub: alice``, written ``age`` seconds ago (real time: the
    gateway under test runs on the real clock)."""
    codec = SessionCodec("nextauth-v4", (SECRET,))
    token = codec.encode({"sub": "alice"}, COOKIE, now=int(time.time()) - age, max_age=86400)
    return f"{COOKIE}={token}"


async def until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    async def check() -> bool:
        return condition()

    await eventually(check, what, timeout)


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


async def eventually(probe: Callable[[], Awaitable[T]], what: str, timeout: float = DEADLINE) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Upstream:
    """The app behind the gateway: echoes the path as JSON; ``/stall`` waits for
    :attr:`release`; ``/ws`` is a WebSocket echo."""

    port: int = 0
    paths: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.paths.append(request.path)
        if request.path == "/ws":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await ws.send_str(message.data)
            return ws
        if request.path == "/stall":
            await self.release.wait()
        return web.json_response({"path": request.path})


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    recorder = Upstream()
    server = TestServer(recorder.app(), host="127.0.0.1")
    await server.start_server()
    recorder.port = server.port or 0
    yield recorder
    recorder.release.set()
    await server.close()


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def sample(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@dataclass
class Gateway:
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


Launch = Callable[..., Awaitable[Gateway]]


def place_config(directory: Path, text: str, layout: str) -> Path:
    """Write the config as a plain file, or laid out as Kubernetes mounts a ConfigMap:
    ``gateway.yaml -> ..data/gateway.yaml``, ``..data -> ..<version>/``."""
    if layout == "file":
        path = directory / "gateway.yaml"
        path.write_text(text)
        return path
    mount = directory / "configmap"
    mount.mkdir()
    (mount / "..data").symlink_to(_configmap_version(mount, text).name)
    path = mount / "gateway.yaml"
    path.symlink_to("..data/gateway.yaml")
    return path


def _configmap_version(mount: Path, text: str) -> Path:
    version = mount / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.monotonic_ns()}"
    version.mkdir()
    (version / "gateway.yaml").write_text(text)
    return version


def replace_atomically(path: Path, text: str) -> None:
    """As editors and config tools do: write a new file, rename it over the old one."""
    fresh = path.with_name(path.name + ".new")
    fresh.write_text(text)
    os.replace(fresh, path)


def write_in_place(path: Path, text: str) -> None:
    with path.open("w") as file:
        file.write(text)


def swap_configmap(path: Path, text: str) -> None:
    """As the kubelet updates a ConfigMap volume: a new version directory, ``..data``
    re-pointed at it by an atomic rename of a new symlink, the old version removed."""
    mount = path.parent
    old = (mount / "..data").resolve()
    link = mount / "..data_tmp"
    link.symlink_to(_configmap_version(mount, text).name)
    os.replace(link, mount / "..data")
    shutil.rmtree(old)


def config_text(
    upstream: Upstream,
    port: int,
    metrics_port: int,
    *,
    max_age: str = "1d",
    grace: str = "20s",
    client_header: str = "10s",
    extra: str = "",
    more_routes: str = "",
) -> str:
    return CONFIG.format(
        port=port,
        metrics_port=metrics_port,
        upstream_port=upstream.port,
        secret=SECRET,
        max_age=max_age,
        grace=grace,
        extra=extra,
        client_header=client_header,
        more_routes=more_routes,
    )


def sha12(text: str) -> str:
    """The ``gateway_config_info`` label of a config file with this text."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@pytest.fixture
async def launch(tmp_path: Path, upstream: Upstream) -> AsyncIterator[Launch]:
    """Start ``python -m gateway run`` on a config written from :data:`CONFIG`."""
    started: list[Gateway] = []

    async def start(
        *,
        workers: int = 1,
        args: tuple[str, ...] = (),
        ready: bool = True,
        layout: str = "file",
        port: int = 0,
        metrics_port: int = 0,
        **options: Any,
    ) -> Gateway:
        port, metrics_port = port or free_port(), metrics_port or free_port()

        def render(**changes: Any) -> str:
            return config_text(upstream, port, metrics_port, **{**options, **changes})

        config = place_config(tmp_path, render(), layout)
        output = tmp_path / f"gateway-{len(started)}.log"
        (tmp_path / "tmp").mkdir(exist_ok=True)
        with output.open("wb") as sink:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "run",
                    "--config",
                    str(config),
                    "--workers",
                    str(workers),
                    *args,
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: teardown kills every worker
                env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
            )
        client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        gateway = Gateway(process, config, port, metrics_port, output, client, render)
        started.append(gateway)
        if ready:
            await gateway.ready()
        return gateway

    yield start
    for gateway in started:
        await gateway.client.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(gateway.process.pid, signal.SIGKILL)
        gateway.process.wait()
