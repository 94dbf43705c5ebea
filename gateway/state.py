"""What a running gateway process holds, in one object the pipeline reads: the current
:class:`~gateway.snapshot.Snapshot` (a config and what is built from it), the metrics, the
clock, the upstream pool, and the requests in flight.

Trust assumption: a reload replaces :attr:`GatewayState.snapshot` with one assignment, so a
request reads one consistent config from start to end and new requests see the new one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.config import GatewayConfig
from gateway.observe import GatewayMetrics
from gateway.snapshot import Snapshot
from gateway.upstream import UpstreamPool

Clock = Callable[[], float]


@dataclass(eq=False, slots=True)
class _PoolGeneration:
    """An upstream pool and the requests that started while it was the current one: a
    replaced pool is closed once the last of them ends, never under a request using it."""

    pool: UpstreamPool
    users: int = 0
    retired: bool = False


class GatewayState:
    """The process-wide state: ``snapshot`` (swapped on reload), ``metrics``, ``clock``,
    ``pool`` (replaced when a reload changes the timeouts or upstreams), ``inflight`` and
    ``draining`` (set by graceful shutdown)."""

    def __init__(
        self, config: GatewayConfig, metrics: GatewayMetrics, clock: Clock = time.time
    ) -> None:
        self.snapshot = Snapshot.build(config)
        self.metrics = metrics
        self.clock = clock
        self._generation = _PoolGeneration(UpstreamPool(config.timeouts))
        self.inflight = 0
        self.draining = False
        self._drained: asyncio.Future[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def pool(self) -> UpstreamPool:
        """The current upstream pool."""
        return self._generation.pool

    def swap(self, config: GatewayConfig) -> None:
        """Build everything for the new config first, then switch in one step. The upstream
        pool is rebuilt when the timeouts or the upstreams change (its sessions carry the
        timeouts); the old one closes when the requests that may use it have ended."""
        snapshot, old = Snapshot.build(config), self.snapshot.config
        self.snapshot = snapshot
        if (config.timeouts, config.upstreams) != (old.timeouts, old.upstreams):
            retired = self._generation
            self._generation = _PoolGeneration(UpstreamPool(config.timeouts))
            retired.retired = True
            self._close_if_unused(retired)

    def enter(self) -> _PoolGeneration:
        """A request starts; hand the result back to :meth:`leave` when it ends."""
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
        """Close the current pool and wait for retired ones still closing (after serving)."""
        await self._generation.pool.close()
        if self._closing:
            await asyncio.gather(*self._closing)
