"""A lean HTTP/1.1 client for proxied requests: keep-alive connections to one upstream.

It drives aiohttp's own connection protocol (``ResponseHandler``: the C response parser, flow
control both ways, the read timeout) and request writer (``StreamWriter``: chunked framing,
drain), without the ClientSession / ClientRequest / ClientResponse layers above them. Those
layers (cookie jar, redirects, auth, tracing, URL building, middlewares) do nothing for a
proxy and were half of a bare aiohttp proxy's CPU per request (measured in bench/README.md).
WebSockets still go through aiohttp.ClientSession.

Errors are aiohttp's own exception types (the protocol raises them), plus
:class:`ConnectFailed` for a refused or unreachable upstream, so :mod:`gateway.upstream` maps
both clients' failures in one place (:mod:`gateway.upstream.failures`). ``ResponseHandler``
and ``StreamWriter`` are aiohttp internals: tests/unit/test_private_apis.py checks the parts
used here, tests/integration/upstream/test_h1client.py the client as a whole.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import ClientConnectionError, ClientOSError, ServerDisconnectedError, hdrs
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_writer import StreamWriter
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.config import Upstream
from gateway.upstream.protocol import LazyTimerProtocol

if TYPE_CHECKING:
    from aiohttp.streams import StreamReader

# RFC 9112 9.3.1: a request that failed on a reused connection before any answer may be sent
# again only if repeating it is harmless; without a body, so nothing needs replaying.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class ConnectFailed(ClientConnectionError):
    """The upstream could not be reached (refused, unreachable, TLS handshake failed)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or type(error).__name__)
        self.strerror = error.strerror


class Answer:
    """The upstream's response: status, reason, headers, and the body as a stream.

    Call :meth:`release` once the body is read to its end (the connection goes back to the
    pool if both sides allow it) or :meth:`close` to drop the connection (a half-read body).
    """

    __slots__ = ("_conn", "_done", "_sender", "content", "headers", "reason", "status")

    def __init__(
        self,
        conn: _Conn,
        status: int,
        reason: str,
        headers: CIMultiDictProxy[str],
        content: StreamReader,
        sender: asyncio.Task[None] | None,
    ) -> None:
        self.status, self.reason, self.headers, self.content = status, reason, headers, content
        self._conn, self._sender, self._done = conn, sender, False

    def release(self) -> None:
        if self._done:
            return
        self._done = True
        sender, protocol = self._sender, self._conn.protocol
        reusable = (
            self.content.is_eof()
            and (sender is None or sender.done())
            and not protocol.should_close
        )
        if sender is not None and not sender.done():
            sender.cancel()  # the upstream answered before reading the whole body
        self._conn.pool.put(self._conn) if reusable else protocol.close()

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        if self._sender is not None:
            self._sender.cancel()
        self._conn.protocol.close()


class _Conn:
    __slots__ = ("idle_since", "pool", "protocol", "reused")

    def __init__(self, pool: Connections, protocol: LazyTimerProtocol) -> None:
        self.pool, self.protocol, self.idle_since, self.reused = pool, protocol, 0.0, False


class Connections:
    """Keep-alive connections to one upstream, newest idle one reused first.

    No limit on open connections: each stands for a client request the gateway's server has
    already accepted, and a proxy must not queue request 101 behind 100 long polls. Idle ones
    are dropped after ``keepalive`` seconds, before the upstream's own keep-alive timeout
    (Node's default is 5 s) can close a socket a request is being written to.
    """

    def __init__(
        self,
        upstream: Upstream,
        *,
        connect_timeout: float,
        read_timeout: float,
        keepalive: float,
        max_field_size: int,
    ) -> None:
        self.upstream = upstream
        self._connect_timeout, self._read_timeout = connect_timeout, read_timeout
        self._keepalive, self._max_field = keepalive, max_field_size
        self._ssl = ssl.create_default_context() if upstream.scheme == "https" else None
        self._idle: list[_Conn] = []
        self._closed = False
        # Looked up once: on Python 3.11 each get_running_loop() is a getpid() system call.
        self._loop: asyncio.AbstractEventLoop | None = None

    async def request(
        self, method: str, target: str, headers: CIMultiDict[str], body: AsyncIterator[bytes] | None
    ) -> Answer:
        """Send one request and return once the answer's headers are in. ``headers`` are
        sent as given (Host included); with a body and no Content-Length, it goes chunked."""
        retry = body is None and method in IDEMPOTENT
        while True:
            conn = await self._acquire()
            try:
                return await self._exchange(conn, method, target, headers, body)
            except (ServerDisconnectedError, ClientOSError):
                conn.protocol.close()
                if not (retry and conn.reused):
                    raise
                retry = False  # a stale keep-alive connection: once, on a fresh one
            except BaseException:
                conn.protocol.close()
                raise

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.protocol.close()

    def put(self, conn: _Conn) -> None:
        """A connection whose exchange ended cleanly goes back (or closes, once closed)."""
        protocol = conn.protocol
        if self._closed or not protocol.is_connected() or protocol.exception() is not None:
            protocol.close()
            return
        # The read timer of a body sent after the answer arrived must not fire on an idle
        # connection (it would fail the next request on it).
        protocol._drop_timeout()  # the lazy one: the armed timer will find no deadline
        conn.idle_since, conn.reused = self._running_loop().time(), True
        self._idle.append(conn)
        self._sweep(conn.idle_since)

    def _sweep(self, now: float) -> None:
        # Oldest first: one look per release keeps the idle list from holding dead sockets.
        while self._idle and now - self._idle[0].idle_since > self._keepalive:
            self._idle.pop(0).protocol.close()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    async def _acquire(self) -> _Conn:
        now = self._running_loop().time()
        while self._idle:
            conn = self._idle.pop()
            fresh = now - conn.idle_since <= self._keepalive
            if fresh and conn.protocol.is_connected() and conn.protocol.exception() is None:
                return conn
            conn.protocol.close()
        return await self._connect()

    async def _connect(self) -> _Conn:
        loop, upstream = self._running_loop(), self.upstream
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, protocol = await loop.create_connection(
                    lambda: LazyTimerProtocol(loop),
                    upstream.host,
                    upstream.port,
                    ssl=self._ssl,
                    server_hostname=upstream.host if self._ssl else None,
                )
        except OSError as exc:  # TimeoutError passes: a connect timeout is a 504
            if isinstance(exc, TimeoutError):
                raise
            raise ConnectFailed(exc) from None
        return _Conn(self, protocol)

    async def _exchange(
        self,
        conn: _Conn,
        method: str,
        target: str,
        headers: CIMultiDict[str],
        body: AsyncIterator[bytes] | None,
    ) -> Answer:
        protocol = conn.protocol
        protocol.set_response_params(
            skip_payload=method == hdrs.METH_HEAD,
            read_until_eof=True,
            auto_decompress=False,
            read_timeout=self._read_timeout,
            max_line_size=self._max_field,
            max_field_size=self._max_field,
        )
        loop = self._running_loop()
        writer = StreamWriter(protocol, loop)
        if body is not None and hdrs.CONTENT_LENGTH not in headers:
            headers[hdrs.TRANSFER_ENCODING] = "chunked"
            writer.enable_chunking()
        await writer.write_headers(f"{method} {target} HTTP/1.1", headers)
        sender = None
        if body is None:
            await writer.write_eof()
            protocol.start_timeout()
        else:
            sender = loop.create_task(_send_body(writer, body, protocol))
        try:
            message, payload = await protocol.read()
            while 100 <= message.code < 200 and message.code != 101:
                message, payload = await protocol.read()  # interim (103 Early Hints): skipped
        except BaseException:
            if sender is not None:
                sender.cancel()
            raise
        return Answer(conn, message.code, message.reason, message.headers, payload, sender)


async def _send_body(
    writer: StreamWriter, body: AsyncIterator[bytes], protocol: ResponseHandler
) -> None:
    """Stream the request body; the read timeout starts once it is all sent (as aiohttp's).
    A failure reading the client aborts the connection, so the upstream never takes a
    truncated body for a whole one, and the waiting reader sees the connection drop."""
    while True:
        try:
            chunk = await anext(body)
        except StopAsyncIteration:
            break
        except Exception:  # the client's failure: its caller knows and answers for it
            if protocol.transport is not None:
                protocol.transport.abort()
            return
        try:
            await writer.write(chunk)
        except (ClientConnectionError, OSError):
            return  # the upstream stopped reading: its answer (or its reset) tells the rest
    try:
        await writer.write_eof()
    except (ClientConnectionError, OSError):
        return
    protocol.start_timeout()
