"""Upstreams the gateway forwards to in tests: real aiohttp servers on 127.0.0.1 that record
what reached them.

:func:`upstream_app` with its :class:`Recorder` (the integration harness and the hostile
suite): echoes the raw path and the headers it got as JSON, sets the cookies the test asks
for, holds ``/stall`` until released, echoes text on the ``/ws`` WebSocket.
:class:`Upstream` (the system tests, in front of a ``gateway run`` process): records the
paths, echoes the path as JSON, the same ``/stall`` and ``/ws``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web


@dataclass
class Recorder:
    """What the upstream received, and what it should answer."""

    requests: list[web.Request] = field(default_factory=list)
    set_cookies: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # /stall waits for it

    @property
    def last(self) -> web.Request:
        return self.requests[-1]


RECORDER = web.AppKey("recorder", Recorder)


def upstream_app(recorder: Recorder) -> web.Application:
    async def echo(request: web.Request) -> web.StreamResponse:
        recorder.requests.append(request)
        if request.path == "/ws":
            return await ws_echo(request)
        if request.path == "/stall":
            await recorder.release.wait()
        body = json.dumps({"path": request.raw_path, "headers": dict(request.headers)})
        response = web.Response(text=body, content_type="application/json")
        for cookie in recorder.set_cookies:
            response.headers.add("Set-Cookie", cookie)
        return response

    # Node (the real apps) accepts 16 KB headers; a chunked session cookie needs it.
    app = web.Application(handler_args={"max_field_size": 16384})
    app[RECORDER] = recorder
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


async def ws_echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(message.data)
    return ws


@dataclass
class Upstream:
    """The app behind a gateway process: echoes the path as JSON; ``/stall`` waits for
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
            return await ws_echo(request)
        if request.path == "/stall":
            await self.release.wait()
        return web.json_response({"path": request.path})
