"""Drive the soak's traffic: K client tasks taking turns through the kinds until a deadline,
while the gateway's RSS and open file descriptors are read from /proc every ten seconds.

Every loop stops by itself: a task starts no request after the deadline, and a request in
flight has its own timeout. Only the gateway's own loopback address is ever contacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import WSMsgType

from bench import procstat
from bench.cookies import COOKIE
from bench.soak_traffic import KINDS, WEBSOCKET, Probe, Traffic, session
from bench.soak_upstream import WS_PATH

SAMPLE_SECONDS = 10.0
REQUEST_SECONDS = 10.0  # one request, or one WebSocket session's step, may take this long
SETTLE_SECONDS = 1.0  # after the clients close, before the idle reading
WS_MESSAGES = 3


@dataclass(slots=True)
class Tally:
    """What the clients saw, per kind."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    errors: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    wrong: Counter[str] = field(default_factory=Counter)  # an answer outside the expected
    renewed: int = 0

    def answered(self, kind: str, status: int, right: bool) -> None:
        self.requests[kind] += 1
        self.statuses[kind][status] += 1
        self.wrong[kind] += not right

    def failed(self, kind: str, error: BaseException) -> None:
        # The class name only: an exception's text may quote a header, and so a cookie.
        self.requests[kind] += 1
        self.errors[kind][type(error).__name__] += 1


@dataclass(frozen=True, slots=True)
class Sample:
    at_seconds: float  # since the load began
    rss_bytes: int
    hwm_bytes: int
    fds: int


def sample(pid: int, at_seconds: float) -> Sample:
    """The gateway's process tree (one process unless it runs workers); zeros once gone."""
    reading = procstat.usage(pid)
    fds = 0
    for member in procstat.tree(pid):
        with contextlib.suppress(OSError):
            fds += len(os.listdir(f"/proc/{member}/fd"))
    return Sample(round(at_seconds, 3), reading.rss_bytes, reading.hwm_bytes, fds)


@dataclass(frozen=True, slots=True)
class Plan:
    base_url: str  # the gateway, http://127.0.0.1:<port>
    pid: int  # the gateway's process
    seconds: float
    warmup: float
    concurrency: int


@dataclass(frozen=True, slots=True)
class Outcome:
    tally: Tally
    before: Sample  # idle, before any load
    samples: list[Sample]  # the end of warm-up, every SAMPLE_SECONDS after, the deadline
    after: Sample  # idle again, the clients' connections closed
    seconds: float  # how long the load ran, from the first request to the last answer


async def drive(plan: Plan, traffic: Traffic) -> Outcome:
    tally = Tally()
    before = sample(plan.pid, 0.0)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=plan.concurrency),
        cookie_jar=aiohttp.DummyCookieJar(),  # every request says which cookie it sends
        timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS),
    ) as http:
        began = time.monotonic()
        deadline = began + plan.seconds
        client = Client(http, plan.base_url, traffic, tally)
        tasks = [asyncio.create_task(client.run(i, deadline)) for i in range(plan.concurrency)]
        try:
            samples = await _watch(plan.pid, began, began + plan.warmup, deadline)
            async with asyncio.timeout(2 * REQUEST_SECONDS + 5):
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
        seconds = time.monotonic() - began
    await asyncio.sleep(SETTLE_SECONDS)
    return Outcome(tally, before, samples, sample(plan.pid, time.monotonic() - began), seconds)


async def _watch(pid: int, began: float, first: float, deadline: float) -> list[Sample]:
    samples, tick = [], first
    while True:
        at = min(tick, deadline)
        await asyncio.sleep(max(0.0, at - time.monotonic()))
        samples.append(sample(pid, time.monotonic() - began))
        if at >= deadline:
            return samples
        tick += SAMPLE_SECONDS


class Client:
    """One shared client session; each task takes its turns through :data:`KINDS`."""

    def __init__(
        self, http: aiohttp.ClientSession, base_url: str, traffic: Traffic, tally: Tally
    ) -> None:
        self._http, self._base, self._traffic, self._tally = http, base_url, traffic, tally

    async def run(self, index: int, deadline: float) -> None:
        turn = index
        while time.monotonic() < deadline:
            kind = KINDS[turn % len(KINDS)]
            turn += 1
            try:
                if kind == WEBSOCKET:
                    await self._websocket()
                else:
                    await self._request(kind, self._traffic.next(kind))
            except (aiohttp.ClientError, TimeoutError, OSError) as error:
                self._tally.failed(kind, error)

    async def _request(self, kind: str, probe: Probe) -> None:
        async with self._http.request(
            probe.method,
            self._base + probe.path,
            headers=probe.headers,
            data=probe.body,
            allow_redirects=False,
        ) as response:
            await response.read()
            renewed = _renews(response.headers.getall("Set-Cookie", []))
        self._tally.renewed += renewed
        right = response.status in probe.expected and (renewed or not probe.renews)
        self._tally.answered(kind, response.status, right)

    async def _websocket(self) -> None:
        """Open a session through the gateway, echo a few messages, close it."""
        try:
            async with self._http.ws_connect(
                self._base + WS_PATH,
                headers=session(self._traffic.cookies.fresh),
                timeout=aiohttp.ClientWSTimeout(ws_close=REQUEST_SECONDS),
            ) as ws:
                right = True
                for i in range(WS_MESSAGES):
                    await ws.send_str(f"soak {i}")
                    reply = await ws.receive(timeout=REQUEST_SECONDS)
                    right = right and reply.type is WSMsgType.TEXT and reply.data == f"soak {i}"
                await ws.close()
        except aiohttp.WSServerHandshakeError as refused:
            self._tally.answered(WEBSOCKET, refused.status, False)
            return
        self._tally.answered(WEBSOCKET, 101, right)


def _renews(set_cookies: Iterable[str]) -> bool:
    """A session cookie written with a value (a deletion has none: ``NAME=; Max-Age=0``)."""
    return any(
        line.startswith(f"{COOKIE}=") and not line.startswith(f"{COOKIE}=;") for line in set_cookies
    )
