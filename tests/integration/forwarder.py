"""A minimal gateway for the upstream tests: every request goes through forward_http or
forward_websocket the way the pipeline calls them, and UpstreamError becomes 502/504.
Also a raw TCP upstream, for answers aiohttp's own server would refuse to write.

Imported by the tests, and run as a script by the memory test so the forwarder's RSS can be
read from /proc on its own: ``python -m tests.integration.forwarder UPSTREAM_PORT`` prints
``PORT <n>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from gateway.config import Timeouts, Upstream
from gateway.errors import UpstreamError
from gateway.upstream.forward import forward_http, forward_websocket, is_websocket_upgrade
from gateway.upstream.hopbyhop import end_to_end
from gateway.upstream.pool import UpstreamPool


@dataclass
class Forwarding:
    """How the test gateway forwards, and what it saw."""

    upstream: Upstream
    timeouts: Timeouts = field(default_factory=Timeouts)
    close_at: float | None = None
    clock: Callable[[], float] = time.time
    errors: list[UpstreamError] = field(default_factory=list)  # raised or reported late
    pool: UpstreamPool | None = None


FORWARDING = web.AppKey("forwarding", Forwarding)


def loopback(port: int) -> Upstream:
    return Upstream("http", "127.0.0.1", port)


def build_forwarder_app(forwarding: Forwarding) -> web.Application:
    app = web.Application()
    app[FORWARDING] = forwarding
    app.router.add_route("*", "/{tail:.*}", _handle)
    app.cleanup_ctx.append(_pool)
    return app


async def _pool(app: web.Application) -> AsyncIterator[None]:
    forwarding = app[FORWARDING]
    forwarding.pool = UpstreamPool(forwarding.timeouts)
    yield
    await forwarding.pool.close()


def _before_send(response: web.StreamResponse) -> None:
    response.headers.add("Set-Cookie", "gw=1; Path=/")
    response.headers["Cache-Control"] = "private, no-store"


async def _handle(request: web.Request) -> web.StreamResponse:
    forwarding = request.app[FORWARDING]
    assert forwarding.pool is not None
    headers = end_to_end(request.headers)
    try:
        if is_websocket_upgrade(request):
            return await forward_websocket(
                request,
                forwarding.pool,
                forwarding.upstream,
                path_qs=request.raw_path,
                headers=headers,
                before_send=_before_send,
                close_at=forwarding.close_at,
                clock=forwarding.clock,
            )
        return await forward_http(
            request,
            forwarding.pool,
            forwarding.upstream,
            path_qs=request.raw_path,
            headers=headers,
            before_send=_before_send,
            on_error=forwarding.errors.append,
        )
    except UpstreamError as exc:
        forwarding.errors.append(exc)
        status = 504 if exc.reason == "timeout" else 502
        return web.Response(status=status, text=exc.reason)


Client = TestClient[web.Request, web.Application]
Through = Callable[..., Awaitable[tuple[Client, Forwarding]]]


def make_through(aiohttp_server: Any, aiohttp_client: Any) -> Through:
    """``await through(upstream, **options)``: a test client talking to a forwarder in front
    of ``upstream`` (an app served on loopback, or a port)."""

    async def through(upstream: web.Application | int, **options: Any) -> tuple[Client, Forwarding]:
        port = upstream if isinstance(upstream, int) else (await aiohttp_server(upstream)).port
        forwarding = Forwarding(loopback(port), **options)
        client = await aiohttp_client(build_forwarder_app(forwarding))
        return client, forwarding

    return through


@contextlib.asynccontextmanager
async def serving(forwarding: Forwarding, *, handler_cancellation: bool) -> AsyncIterator[int]:
    """The forwarder on a loopback port, with aiohttp's choice of cancelling a handler whose
    client disconnected (the test server always cancels; a plain AppRunner does not)."""
    runner = web.AppRunner(
        build_forwarder_app(forwarding), access_log=None, handler_cancellation=handler_cancellation
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawUpstream:
    """A TCP server on loopback whose handler writes whatever bytes the test wants."""

    def __init__(self) -> None:
        self._servers: list[asyncio.Server] = []

    async def start(self, handler: RawHandler) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await handler(reader, writer)
            finally:
                writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()


async def _serve(upstream_port: int) -> None:
    runner = web.AppRunner(
        build_forwarder_app(Forwarding(loopback(upstream_port))), access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
