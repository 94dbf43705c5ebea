"""The soak's upstream: the benchmark's upstream (the same 1 KiB body for every request) plus a
WebSocket echo on ``/ws``, so that the soak's WebSocket sessions go through the gateway to a
real peer and back.

Run as ``python -m bench.soak_upstream --port N`` (bench/soak.py starts it on 127.0.0.1).
"""

from __future__ import annotations

from aiohttp import WSMsgType, web

from bench import upstream
from bench.upstream import answer

WS_PATH = "/ws"


async def echo(request: web.Request) -> web.StreamResponse:
    if not web.WebSocketResponse().can_prepare(request).ok:
        return await answer(request)  # a plain GET of /ws: the same body as any other path
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    async for message in ws:
        if message.type is WSMsgType.TEXT:
            await ws.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await ws.send_bytes(message.data)
    return ws


def build() -> web.Application:
    app = web.Application()
    app.router.add_get(WS_PATH, echo)
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


if __name__ == "__main__":
    upstream.main(build, __doc__)
