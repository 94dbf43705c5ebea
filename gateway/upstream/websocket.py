"""Relay one WebSocket session between the client and the upstream, message by message.

Both sockets run with ``autoping`` and ``autoclose`` off, so pings, pongs and close frames
travel end to end: the client's ping is answered by the upstream, and a close code chosen by
either side reaches the other. When the session behind the connection expires (``close_at``),
both sides get ``1008 session expired``: a WebSocket outlives the request that opened it, so
the policy has to be enforced on the open connection too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Protocol

from aiohttp import WSCloseCode, WSMessage, WSMsgType, hdrs, web
from multidict import CIMultiDict

Clock = Callable[[], float]
BeforeSend = Callable[[web.StreamResponse], None]

EXPIRED_CODE = WSCloseCode.POLICY_VIOLATION  # 1008
EXPIRED_REASON = b"session expired"
# An idle connection re-reads the clock this often, so a wall-clock jump (NTP) cannot keep an
# expired session open much longer than this; without a jump the timer wakes exactly on time.
RECHECK_SECONDS = 30.0
# Codes an endpoint may put on the wire (RFC 6455 7.4): 1005/1006/1015 only describe what
# happened locally, and an empty close frame arrives as 0.
_RESERVED_CODES = frozenset({1004, 1005, 1006, 1015})


class Socket(Protocol):
    """What the relay needs from aiohttp's server-side and client-side WebSockets."""

    async def receive(self, timeout: float | None = None) -> WSMessage: ...
    async def send_str(self, data: str, compress: int | None = None) -> None: ...
    async def send_bytes(self, data: bytes, compress: int | None = None) -> None: ...
    async def ping(self, message: bytes = b"") -> None: ...
    async def pong(self, message: bytes = b"") -> None: ...
    async def close(self, *, code: int = ..., message: bytes = b"") -> bool: ...


def offered_protocols(request: web.BaseRequest) -> list[str]:
    """The client's subprotocols, in its order of preference. Raises web.HTTPBadRequest when
    the handshake is malformed, before anything is opened upstream."""
    offered = _tokens_in_order(request.headers.getall(hdrs.SEC_WEBSOCKET_PROTOCOL, ()))
    if not web.WebSocketResponse(protocols=offered).can_prepare(request).ok:
        raise web.HTTPBadRequest(text="invalid WebSocket handshake")
    return offered


def handshake_headers(headers: CIMultiDict[str]) -> CIMultiDict[str]:
    """The upstream handshake's headers. Its Sec-WebSocket-* headers belong to the upstream
    connection: aiohttp makes its own key, version and protocol list, and extensions
    (compression) are negotiated on each side separately."""
    return CIMultiDict(
        (name, value)
        for name, value in headers.items()
        if not name.lower().startswith("sec-websocket-")
    )


async def accept_and_relay(
    request: web.BaseRequest,
    upstream: Socket,
    *,
    protocol: str | None,
    before_send: BeforeSend | None,
    close_at: float | None,
    clock: Clock,
) -> web.WebSocketResponse:
    """Accept the client with ``protocol``, the subprotocol the upstream chose, then relay."""
    client = web.WebSocketResponse(
        protocols=(protocol,) if protocol else (), autoclose=False, autoping=False
    )
    if before_send is not None:
        before_send(client)
    try:
        await client.prepare(request)
    except ConnectionError:  # the client left while the upstream was answering
        return client
    await bridge(client, upstream, close_at=close_at, clock=clock)
    return client


def _tokens_in_order(values: Iterable[str]) -> list[str]:
    return [token.strip() for value in values for token in value.split(",") if token.strip()]


async def bridge(
    client: Socket, upstream: Socket, *, close_at: float | None = None, clock: Clock
) -> None:
    """Pump messages both ways until either side closes (or the session expires)."""
    await _Bridge(client, upstream, close_at, clock).run()


class _Bridge:
    def __init__(
        self, client: Socket, upstream: Socket, close_at: float | None, clock: Clock
    ) -> None:
        self.client, self.upstream = client, upstream
        self.close_at, self.clock = close_at, clock
        self.timer_fired = False

    async def run(self) -> None:
        pumps = [
            asyncio.create_task(self._pump(self.client, self.upstream)),
            asyncio.create_task(self._pump(self.upstream, self.client)),
        ]
        tasks: list[asyncio.Task[None]] = list(pumps)
        if self.close_at is not None:
            tasks.append(asyncio.create_task(self._timer()))
        try:
            await asyncio.gather(*pumps)
            if self.timer_fired:  # the timer is closing both sides: let it finish both handshakes
                await tasks[-1]
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def _expired(self) -> bool:
        return self.close_at is not None and self.clock() >= self.close_at

    async def _expire(self) -> None:
        await asyncio.gather(
            self.client.close(code=EXPIRED_CODE, message=EXPIRED_REASON),
            self.upstream.close(code=EXPIRED_CODE, message=EXPIRED_REASON),
        )

    async def _timer(self) -> None:
        assert self.close_at is not None
        while (delay := self.close_at - self.clock()) > 0:
            await asyncio.sleep(min(delay, RECHECK_SECONDS))
        self.timer_fired = True
        await self._expire()

    def _lost(self, socket: Socket) -> int:
        """The code for the other side when ``socket`` breaks without a close frame: a
        client that vanished is "going away", an upstream that broke a "bad gateway"."""
        return WSCloseCode.GOING_AWAY if socket is self.client else WSCloseCode.BAD_GATEWAY

    async def _pump(self, source: Socket, target: Socket) -> None:
        while True:
            message = await source.receive()
            if message.type is WSMsgType.CLOSE:
                await _pass_close(source, target, message)
                return
            if message.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                # CLOSING: we closed `source` from the other pump or the timer, nothing to do.
                if message.type is not WSMsgType.CLOSING:
                    await target.close(code=self._lost(source))
                return
            if self._expired():  # checked per message too, so a busy socket closes on time
                await self._expire()
                return
            if not await _send(target, message):
                await source.close(code=self._lost(target))
                return


async def _pass_close(source: Socket, target: Socket, message: WSMessage) -> None:
    """Close ``target`` with the code ``source``'s peer sent, then answer that peer."""
    code = message.data if _sendable(message.data) else WSCloseCode.OK
    reason = str(message.extra or "").encode()
    await target.close(code=code, message=reason)
    await source.close(code=code)


async def _send(target: Socket, message: WSMessage) -> bool:
    """Forward one data or control message; False when ``target`` is already gone."""
    try:
        if message.type is WSMsgType.TEXT:
            await target.send_str(message.data)
        elif message.type is WSMsgType.BINARY:
            await target.send_bytes(message.data)
        elif message.type is WSMsgType.PING:
            await target.ping(message.data)
        elif message.type is WSMsgType.PONG:
            await target.pong(message.data)
    except ConnectionError:
        return False
    return True


def _sendable(code: object) -> bool:
    return isinstance(code, int) and 1000 <= code <= 4999 and code not in _RESERVED_CODES
