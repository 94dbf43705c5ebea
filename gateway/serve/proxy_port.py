"""The proxied port of one process: started on an address, then drained at shutdown."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from gateway.config import Address
from gateway.serve.connections import guarded_runner
from gateway.serve.handler import Gateway
from gateway.serve.lifecycle import FINAL_WRITE_SECONDS, first_of, listen_error
from gateway.state import GatewayState

log = logging.getLogger("gateway.server")


class ProxyServer:
    """The proxied port of one process: started, then drained."""

    def __init__(self, runner: web.ServerRunner, gateway: Gateway) -> None:
        self.runner, self.gateway = runner, gateway

    @classmethod
    async def start(
        cls, gateway: Gateway, address: Address, *, reuse_port: bool = False
    ) -> ProxyServer:
        timeouts = gateway.state.snapshot.config.timeouts
        # handler_cancellation: a client that leaves while the upstream thinks frees the
        # upstream connection at once instead of when the upstream answers.
        runner = guarded_runner(
            gateway.handler,
            header_timeout=timeouts.client_header,
            shutdown_timeout=FINAL_WRITE_SECONDS,
            access_log=None,
            handler_cancellation=True,
            **gateway.server_options,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, address.host, address.port, reuse_port=reuse_port).start()
        except OSError as exc:
            await runner.cleanup()
            await gateway.close()
            raise listen_error(address, exc) from None
        return cls(runner, gateway)

    @property
    def state(self) -> GatewayState:
        return self.gateway.state

    async def drain(self, hurry: asyncio.Event) -> None:
        """Stop accepting, give what is in flight the grace of the config in force (or until
        ``hurry``), then close every connection and cancel what is left.

        Connections are not closed before: aiohttp drops what a closing connection receives,
        which would cut uploads and WebSockets in flight. Keep-alive connections instead
        close after their next response (see :func:`gateway.pipeline.close_connection`)."""
        state = self.state
        state.draining = True
        grace = state.snapshot.config.timeouts.shutdown_grace
        for site in list(self.runner.sites):
            await site.stop()
        if state.inflight:
            log.info("draining %d requests in flight (grace %gs)", state.inflight, grace)
            await first_of(grace, state.drained(), hurry.wait())
        if state.inflight:
            log.warning("shutdown: %d requests in flight cut", state.inflight)
        await self.runner.cleanup()
        await self.gateway.close()
