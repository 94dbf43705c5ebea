"""What a running gateway holds: the active config (swapped whole on reload), the upstream
pool, the requests in flight, and the context the pipeline reads them from.

Trust assumption: a reload replaces :attr:`Runtime.active` with one assignment, so a request
reads one consistent config from start to end and new requests see the new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from gateway.config.model import GatewayConfig
from gateway.inbound import InboundFilter
from gateway.observe.metrics import GatewayMetrics
from gateway.session.stage import SessionStage
from gateway.upstream.pool import UpstreamPool

Clock = Callable[[], float]
Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Active:
    """One config and everything derived from it (keys, caches)."""

    config: GatewayConfig
    sessions: SessionStage
    inbound: InboundFilter

    @classmethod
    def build(cls, config: GatewayConfig) -> Active:
        return cls(
            config,
            SessionStage(config.session, config.limits),
            InboundFilter(name for name, _ in config.identity_headers),
        )


@dataclass(eq=False, slots=True)
class _PoolGeneration:
    """An upstream pool and the requests that started while it was the current one: a
    replaced pool is closed once the last of them ends, never under a request using it."""

    pool: UpstreamPool
    users: int = 0
    retired: bool = False


class Runtime:
    def __init__(self, config: GatewayConfig) -> None:
        self.active = Active.build(config)
        self._generation = _PoolGeneration(UpstreamPool(config.timeouts))
        self.inflight = 0
        self.draining = False  # set by graceful shutdown
        self._drained: asyncio.Future[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def pool(self) -> UpstreamPool:
        return self._generation.pool

    def swap(self, config: GatewayConfig) -> None:
        """Build everything for the new config first, then switch in one step. The upstream
        pool is rebuilt when the timeouts or the upstreams change (its sessions carry the
        timeouts); the old one closes when the requests that may use it have ended."""
        active, old = Active.build(config), self.active.config
        self.active = active
        if (config.timeouts, config.upstreams) != (old.timeouts, old.upstreams):
            retired = self._generation
            self._generation = _PoolGeneration(UpstreamPool(config.timeouts))
            retired.retired = True
            self._close_if_unused(retired)

    def enter(self) -> _PoolGeneration:
        """A request starts (see :func:`tracked`)."""
        generation = self._generation
        generation.users += 1
        self.inflight += 1
        return generation

    def leave(self, generation: _PoolGeneration) -> None:
        generation.users -= 1
        self.inflight -= 1
        self._close_if_unused(generation)
        if self.inflight == 0 and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drained(self) -> None:
        """Return once no request is in flight (graceful shutdown waits on it)."""
        while self.inflight:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def _close_if_unused(self, generation: _PoolGeneration) -> None:
        if generation.retired and generation.users == 0:
            generation.retired = False  # closed once
            task = asyncio.get_running_loop().create_task(generation.pool.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Close the current pool and wait for retired ones still closing (app cleanup)."""
        await self._generation.pool.close()
        if self._closing:
            await asyncio.gather(*self._closing)


@dataclass(slots=True)
class GatewayContext:
    """The process-wide state the pipeline needs."""

    runtime: Runtime
    metrics: GatewayMetrics
    clock: Clock = time.time

    @property
    def pool(self) -> UpstreamPool:
        """The current upstream pool (rebuilt by a reload that changes timeouts/upstreams)."""
        return self.runtime.pool
