"""Issue 2 §8: a GiB up and a GiB down through the real gateway process (`gateway run`), with
a session cookie checked on every request, and its RSS stays flat."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from gateway.session.token import SessionCodec
from tests.integration.upstream.test_forward_streaming import (
    CHUNK,
    GIB,
    memory_kib,
    sink_and_source,
    transfer,
)

ROOT = Path(__file__).resolve().parents[2]
SECRET = "memory-test-secret-0123456789abcdefghijkl"
CONFIG = """
listen: 127.0.0.1:{port}
metrics_listen: 127.0.0.1:{metrics}
upstream: http://127.0.0.1:{upstream}
session: {{flavor: nextauth-v4, secrets: ["${{GW_TEST_SECRET}}"]}}
policies: {{general: {{max_age: 1d, update_age: 6h}}}}
default_policy: general
routes: [{{name: app, path: /}}]
log: {{level: warning}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.returncode is None, "the gateway exited"
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)  # polling for start-up, bounded by the deadline
    raise AssertionError("the gateway did not become healthy")


async def test_a_gib_each_way_through_the_gateway_keeps_memory_flat(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    upstream = await aiohttp_server(sink_and_source())
    port, metrics = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(CONFIG.format(port=port, metrics=metrics, upstream=upstream.port))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "run",
        "--config",
        str(config),
        cwd=ROOT,
        env={**os.environ, "GW_TEST_SECRET": SECRET, "PYTHONPATH": str(ROOT)},
    )
    token = SessionCodec("nextauth-v4", [SECRET]).encode(
        {"sub": "u1"}, "next-auth.session-token", now=int(time.time()), max_age=86400
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{metrics}/healthz", process)
        cookies = {"next-auth.session-token": token}
        async with aiohttp.ClientSession(cookies=cookies) as session:
            base = f"http://127.0.0.1:{port}"
            await transfer(session, base, 8 * len(CHUNK))  # warm up
            before = memory_kib(process.pid)
            await transfer(session, base, GIB)
        after = memory_kib(process.pid)
    finally:
        process.terminate()
        await process.wait()
    assert after["VmHWM"] - before["VmRSS"] < 50 * 1024, (before, after)
