"""The metrics port: ``/metrics``, ``/healthz``, ``/readyz``. Never served on the proxied port,
so a scrape endpoint is not exposed to the internet by accident.

``/healthz`` answers while the process runs (a liveness probe). ``/readyz`` answers 200 once
the config is loaded, every configured upstream has answered a TCP connect at least once and,
with ``--workers``, every worker is serving; it answers 503 from the moment SIGTERM arrives,
so a load balancer moves traffic away while in-flight requests finish. An upstream that goes
down later, or a reload that names one that is down, does not make the gateway unready: that
is what 502s are for, and taking every gateway out of a load balancer would not bring the
upstream back (the body still shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from gateway.config import Address, GatewayConfig, Upstream

log = logging.getLogger("gateway.health")

PROBE_INTERVAL = 1.0  # seconds between connect attempts to an upstream not reached yet

# (serving, wanted): the workers that report serving, and how many there should be.
WorkerCount = Callable[[], tuple[list[int], int]]


class Readiness:
    """What ``/readyz`` reports; the server and the supervisor keep it up to date."""

    def __init__(self, config: GatewayConfig, workers: WorkerCount | None = None) -> None:
        self.draining = False
        self.was_ready = False
        self.workers = workers
        self.reached: set[str] = set()  # host:port of upstreams that answered a connect
        self._changed = asyncio.Event()
        self.configure(config)

    def configure(self, config: GatewayConfig) -> None:
        """The config in force now (at start and after every reload)."""
        self.sha256 = config.sha256
        self.upstreams = config.upstreams
        self.connect_timeout = config.timeouts.connect
        self._changed.set()  # a new upstream may need probing

    def report(self) -> tuple[bool, dict[str, object]]:
        """Whether to take traffic, and why. The first time every upstream has answered and
        every worker serves, the gateway is ready; from then on it stays ready until it
        drains, while at least one worker serves: a reload naming an upstream that is down,
        pushed to every gateway at once, must not take them all out of the load balancer."""
        upstreams = {u.label: u.label in self.reached for u in self.upstreams}
        body: dict[str, object] = {"config": self.sha256[:12], "upstreams": upstreams}
        serving: list[int] = []
        wanted = 0
        if self.workers is not None:
            serving, wanted = self.workers()
            body["workers"] = {"wanted": wanted, "serving": serving}
        if not self.was_ready:
            self.was_ready = all(upstreams.values()) and len(serving) >= wanted
        ready = self.was_ready and (self.workers is None or bool(serving))
        if self.draining:
            body["status"] = "draining"
        else:
            body["status"] = "ready" if ready else "starting" if not self.was_ready else "down"
        return ready and not self.draining, body

    async def probe(self) -> None:
        """Connect to every upstream not reached yet, each second, until all have answered;
        then wait for a reload to name a new one. Runs until cancelled."""
        while True:
            self._changed.clear()
            missing = [u for u in self.upstreams if u.label not in self.reached]
            results = await asyncio.gather(*(self._connect(u) for u in missing))
            self.reached.update(u.label for u, ok in zip(missing, results, strict=True) if ok)
            if all(results):
                await self._changed.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), PROBE_INTERVAL)

    async def _connect(self, upstream: Upstream) -> bool:
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, writer = await asyncio.open_connection(upstream.host, upstream.port)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        log.info("upstream %s answered", upstream.label)
        return True


READINESS = web.AppKey("readiness", Readiness)
REGISTRY = web.AppKey("registry", CollectorRegistry)


def build_admin_app(readiness: Readiness, registry: CollectorRegistry) -> web.Application:
    app = web.Application()
    app[READINESS] = readiness
    app[REGISTRY] = registry
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    return app


async def start_admin(
    readiness: Readiness, registry: CollectorRegistry, address: Address
) -> web.AppRunner:
    """Serve the admin app on ``address``; the caller cleans the runner up last, so metrics
    and a failing ``/readyz`` stay visible while the proxied port drains."""
    runner = web.AppRunner(build_admin_app(readiness, registry), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, address.host, address.port).start()
    except OSError:
        await runner.cleanup()
        raise
    return runner


async def _metrics(request: web.Request) -> web.Response:
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(request.app[REGISTRY])
    return web.Response(body=body, headers={"Content-Type": content_type})


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    ready, body = request.app[READINESS].report()
    return web.json_response(body, status=200 if ready else 503)
