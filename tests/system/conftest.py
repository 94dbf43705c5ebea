"""Fixtures for system tests: the real gateway as a subprocess (``python -m gateway run``) on
free loopback ports, in front of a real aiohttp upstream served by the test's event loop.

Every wait polls with a deadline; every process started here is killed (its whole process
group: a supervisor's workers too) when the test ends. What the tests ask the process is in
:mod:`tests.support.gateway_process`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.support import free_port
from tests.support.config_files import place_config
from tests.support.gateway_process import GatewayProcess, Launch, process_config_text
from tests.support.upstreams import Upstream


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    recorder = Upstream()
    server = TestServer(recorder.app(), host="127.0.0.1")
    await server.start_server()
    recorder.port = server.port or 0
    yield recorder
    recorder.release.set()
    await server.close()


@pytest.fixture
async def launch(tmp_path: Path, upstream: Upstream) -> AsyncIterator[Launch]:
    """Start ``python -m gateway run`` on a config written by
    :func:`~tests.support.gateway_process.process_config_text`."""
    started: list[GatewayProcess] = []

    async def start(
        *,
        workers: int = 1,
        args: tuple[str, ...] = (),
        ready: bool = True,
        layout: str = "file",
        port: int = 0,
        metrics_port: int = 0,
        **options: Any,
    ) -> GatewayProcess:
        port, metrics_port = port or free_port(), metrics_port or free_port()

        def render(**changes: Any) -> str:
            return process_config_text(upstream.port, port, metrics_port, **{**options, **changes})

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
        gateway = GatewayProcess(process, config, port, metrics_port, output, client, render)
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
