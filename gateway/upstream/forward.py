"""Forward one request to its upstream and stream the answer back.

Bodies are streamed both ways, never buffered: memory per request is bounded by aiohttp's
read buffers whatever the body size. The upstream's answer is passed through as sent
(status, reason, headers, compressed bytes), minus the hop-by-hop headers.

Failures are :class:`UpstreamError` only while the client has not seen a response yet (the
caller answers 502 or 504). Once the headers are out, an upstream that breaks has its client
connection cut (never a clean end, so a truncated body cannot pass for a whole one).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable

from aiohttp import WSCloseCode, hdrs, web
from multidict import CIMultiDict
from yarl import URL

from gateway.config import Upstream
from gateway.errors import UpstreamError
from gateway.upstream.failures import reraise, upstream_error
from gateway.upstream.h1client import Answer
from gateway.upstream.hopbyhop import end_to_end, tokens
from gateway.upstream.pool import UpstreamPool
from gateway.upstream.websocket import (
    BeforeSend,
    Clock,
    accept_and_relay,
    handshake_headers,
    offered_protocols,
)

# The caller's target goes into the request line verbatim: nothing that could split it.
_UNSAFE_TARGET = re.compile(r"[\x00-\x20\x7f]")


def is_websocket_upgrade(request: web.BaseRequest) -> bool:
    """A GET asking to switch to the WebSocket protocol (other upgrades are stripped)."""
    return (
        request.method == hdrs.METH_GET
        and hdrs.UPGRADE in request.headers
        and "websocket" in tokens(request.headers.getall(hdrs.UPGRADE, ()))
        and "upgrade" in tokens(request.headers.getall(hdrs.CONNECTION, ()))
    )


def _check_target(path_qs: str) -> str:
    """The caller's target, sent verbatim (no re-normalising). Raises ValueError for one that
    is not origin-form or could split the request line."""
    if not path_qs.startswith("/") or _UNSAFE_TARGET.search(path_qs):
        raise ValueError("request target must be a path without spaces or control characters")
    return path_qs


def _url(upstream: Upstream, path_qs: str) -> URL:
    """The upstream URL with the caller's target exactly as given (WebSockets)."""
    return URL(upstream.origin + _check_target(path_qs), encoded=True)


class _ClientBody:
    """The client's request body as chunks, remembering whether reading the *client* failed:
    a client that hangs up mid-upload must abort the upstream request (never a clean end of
    body) and must not be blamed on the upstream.

    A client that stops sending mid-body for ``idle`` seconds fails the same way (nginx's
    client_body_timeout): otherwise it would hold a handler and an upstream connection open
    for as long as it likes, as would a malformed chunk, which aiohttp leaves pending.
    """

    def __init__(self, request: web.BaseRequest, idle: float) -> None:
        self._content, self._idle = request.content, idle
        self.failure: BaseException | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            try:
                async with asyncio.timeout(self._idle):
                    chunk = await self._content.readany()
            except Exception as exc:
                self.failure = exc
                raise
            if not chunk:
                return
            yield chunk


def _request_headers(
    request: web.BaseRequest, headers: CIMultiDict[str], upstream: Upstream
) -> CIMultiDict[str]:
    """``headers`` (changed in place) with the body framing taken from the request itself:
    the client's Content-Length, or chunked (the client sends it) when its body is chunked."""
    # Expect: the gateway's server already answered 100-continue to the client.
    for name in (hdrs.CONTENT_LENGTH, hdrs.TRANSFER_ENCODING, hdrs.EXPECT):
        headers.popall(name, None)
    if request.content_length is not None:
        headers[hdrs.CONTENT_LENGTH] = str(request.content_length)
    if hdrs.HOST not in headers:
        headers[hdrs.HOST] = upstream.label
    return headers


class _ProxyResponse(web.StreamResponse):
    """A response that writes the upstream's headers as sent: aiohttp would add
    ``Content-Type: application/octet-stream`` (a browser would download instead of sniff)
    and its own ``Server`` when the upstream sent none.

    aiohttp sends a StreamResponse's headers on their own at once (a stream may be slow to
    start). With ``coalesce`` (the upstream's body is already here, or there is none) they
    wait for the first body bytes and leave in the same write: one send a response, not two.

    Both go through aiohttp internals (``_send_headers_immediately``, ``_prepare_headers``),
    fenced by tests/unit/test_private_apis.py.
    """

    def __init__(
        self, *, status: int, reason: str | None, headers: CIMultiDict[str], coalesce: bool
    ) -> None:
        super().__init__(status=status, reason=reason, headers=headers)
        self._send_headers_immediately = not coalesce

    async def _prepare_headers(self) -> None:
        absent = [name for name in (hdrs.CONTENT_TYPE, hdrs.SERVER) if name not in self.headers]
        await super()._prepare_headers()
        for name in absent:
            self.headers.popall(name, None)


def _client_failed(failure: BaseException) -> web.StreamResponse:
    """The response for a request whose client failed mid-upload: 408 when it went quiet,
    499 when it hung up (never delivered; logged and counted as nginx does), else 400."""
    if isinstance(failure, TimeoutError):
        response = web.Response(status=408, text="request body timed out")
    elif isinstance(failure, ConnectionError):
        response = web.Response(status=499, reason="Client Closed Request")
    else:
        response = web.Response(status=400, text="bad request body")
    response.force_close()
    return response


async def forward_http(
    request: web.BaseRequest,
    pool: UpstreamPool,
    upstream: Upstream,
    *,
    path_qs: str,
    headers: CIMultiDict[str],
    before_send: BeforeSend | None = None,
    on_error: Callable[[UpstreamError], None] | None = None,
) -> web.StreamResponse:
    """Send the request to ``upstream`` and stream its answer to the client.

    ``headers`` are the prepared upstream request headers (hop-by-hop already stripped,
    ``Host`` set); they are changed in place. ``before_send`` sees the response before its
    headers go out. Raises UpstreamError if the upstream fails before that; a failure after
    it cuts the client connection and is reported to ``on_error`` instead.
    """
    target, body = _check_target(path_qs), _ClientBody(request, idle=pool.timeouts.upstream)
    try:
        answer = await pool.connections(upstream).request(
            request.method,
            target,
            _request_headers(request, headers, upstream),
            body.chunks() if request.body_exists else None,
        )
    except Exception as exc:
        if body.failure is not None:
            return _client_failed(body.failure)
        reraise(exc, upstream)
    try:
        return await _relay(request, answer, upstream, before_send, on_error)
    except BaseException:  # cancelled, or before_send failed: the answer is half read
        answer.close()
        raise
    finally:
        answer.release()  # back to the pool only when read to the end


async def _relay(
    request: web.BaseRequest,
    answer: Answer,
    upstream: Upstream,
    before_send: BeforeSend | None,
    on_error: Callable[[UpstreamError], None] | None,
) -> web.StreamResponse:
    headers = end_to_end(answer.headers)
    body = answer.content
    response = _ProxyResponse(
        status=answer.status,
        reason=answer.reason,
        headers=headers,
        coalesce=body.total_bytes > 0 or body.is_eof(),
    )
    if before_send is not None:
        before_send(response)
    try:
        await response.prepare(request)
        error = await _copy_body(answer, response, upstream)
    except ConnectionError:  # the client left: stop reading the upstream
        answer.close()
        return response
    if error is not None:
        answer.close()
        _cut(request, response)
        if on_error is not None:
            on_error(error)
    return response


async def _copy_body(
    answer: Answer, response: web.StreamResponse, upstream: Upstream
) -> UpstreamError | None:
    """Stream the body chunk by chunk; the upstream's failure is returned, the client's
    (ConnectionError from a write) raised."""
    while True:
        try:
            chunk = await answer.content.readany()
        except Exception as exc:
            error = upstream_error(exc, upstream)
            if error is None:
                raise
            return error
        if not chunk:
            break
        await response.write(chunk)
    await response.write_eof()
    return None


def _cut(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """End the client connection without the end of the body (no last chunk), so the client
    sees a truncated response as an error instead of as complete."""
    response.force_close()
    transport = request.transport
    if transport is not None:
        transport.close()


async def forward_websocket(
    request: web.BaseRequest,
    pool: UpstreamPool,
    upstream: Upstream,
    *,
    path_qs: str,
    headers: CIMultiDict[str],
    before_send: BeforeSend | None = None,
    close_at: float | None = None,
    clock: Clock = time.time,
) -> web.WebSocketResponse:
    """Open the upstream WebSocket first, then accept the client with the subprotocol the
    upstream chose, and relay until either side closes (or ``close_at``: 1008).

    Raises UpstreamError before accepting the client if the upstream cannot be reached or
    refuses the handshake, and web.HTTPBadRequest for a malformed client handshake.
    """
    url, offered = _url(upstream, path_qs), offered_protocols(request)
    try:
        upstream_ws = await pool.session(upstream).ws_connect(
            url,
            headers=handshake_headers(headers),
            protocols=offered,
            autoclose=False,
            autoping=False,
        )
    except Exception as exc:
        reraise(exc, upstream)
    try:
        return await accept_and_relay(
            request,
            upstream_ws,
            protocol=upstream_ws.protocol,
            before_send=before_send,
            close_at=close_at,
            clock=clock,
        )
    finally:
        # A no-op once the relay closed it; else the client vanished (handler cancelled).
        await upstream_ws.close(code=WSCloseCode.GOING_AWAY)
