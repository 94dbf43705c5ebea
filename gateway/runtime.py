"""What a running gateway holds: the active config (swapped whole on reload) and its context.

Trust assumption: a reload replaces :attr:`Runtime.active` with one assignment, so a request
reads one consistent config from start to end and new requests see the new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from aiohttp import web

from gateway.config import GatewayConfig
from gateway.metrics import GatewayMetrics
from gateway.sessions import SessionStage
from gateway.upstream import UpstreamPool

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Active:
    """One config and everything derived from it (keys, caches)."""

    config: GatewayConfig
    sessions: SessionStage

    @classmethod
    def build(cls, config: GatewayConfig) -> Active:
        return cls(config, SessionStage(config.session, config.limits))


class Runtime:
    def __init__(self, config: GatewayConfig) -> None:
        self.active = Active.build(config)

    def swap(self, config: GatewayConfig) -> None:
        """Build everything for the new config first, then switch in one step."""
        self.active = Active.build(config)


@dataclass(slots=True)
class GatewayContext:
    """The app-wide state the pipeline needs, under one typed key."""

    KEY: ClassVar[web.AppKey[GatewayContext]]
    runtime: Runtime
    metrics: GatewayMetrics
    pool: UpstreamPool
    clock: Clock = time.time
    draining: bool = False  # set on SIGTERM: /readyz fails so load balancers move away first


GatewayContext.KEY = web.AppKey("gateway", GatewayContext)
