"""Drop clients that are too slow sending a request's headers (slowloris).

aiohttp has no such timeout: a connection that trickles one header byte a second holds a
socket and a parser for as long as it likes. :func:`guarded_runner` runs a server
whose connections get a deadline of ``timeouts.client_header`` from the first byte of each
request (and from the connection's opening) to the end of its headers. The body, the
response and a WebSocket are not limited by it; idle keep-alive is ``KEEPALIVE`` seconds.

This reaches into ``aiohttp.web_protocol.RequestHandler`` (its ``_request_count``, bumped per
parsed request head) and builds its handlers as aiohttp's ``Server`` does: both are checked by
tests/unit/test_private_apis.py, the deadline by tests/integration/test_slowclient.py. The
same handler answers malformed requests without echoing them (see ``handle_error``).
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from aiohttp.web_server import Server

KEEPALIVE = 75.0  # nginx's default keepalive_timeout; aiohttp's own is an hour


class HeaderDeadlineHandler(RequestHandler):
    header_timeout: float = 10.0
    _deadline: asyncio.TimerHandle | None = None
    _in_request: bool = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is slow too

    def data_received(self, data: bytes) -> None:
        heads = self._request_count
        super().data_received(data)
        if self._request_count != heads:
            self._disarm()
            self._in_request = True
        elif not self._in_request:
            self._arm()

    def log_access(
        self, request: BaseRequest, response: web.StreamResponse, time: float | None
    ) -> None:
        super().log_access(request, response, time)
        self._in_request = False  # the next byte starts the next request's headers

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's own answer to a malformed request quotes the offending bytes (a cookie
        line, a token) in the body and logs them with a traceback: answer with the status
        alone, and log one line that names the error, not the bytes."""
        if status >= 500:
            self.log_exception("Error handling request", exc_info=exc)
        else:
            self.logger.info(
                "refused a malformed request (%d %s)", status, type(exc).__name__ if exc else ""
            )
        if request.writer.output_size > 0:
            raise ConnectionError("the response is under way; the connection is dropped")
        response = web.Response(status=status, text=f"{status} {HTTPStatus(status).phrase}\n")
        response.force_close()
        return response

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self._loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self._in_request and self.transport is not None:
            self.transport.close()


class _GuardedServer(Server):
    def __init__(self, handler: Any, *, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.header_timeout = header_timeout

    def __call__(self) -> RequestHandler:
        handler = HeaderDeadlineHandler(self, loop=self._loop, **self._kwargs)
        handler.header_timeout = self.header_timeout
        return handler


def guarded_runner(
    handler: Any, *, header_timeout: float, shutdown_timeout: float, **kwargs: Any
) -> web.ServerRunner:
    """A runner for aiohttp's low-level server whose connections have a header deadline;
    ``kwargs`` go to the server (``handler_cancellation``) and each connection's
    ``RequestHandler`` (``access_log``, field limits). Call inside the running loop."""
    kwargs.setdefault("keepalive_timeout", KEEPALIVE)
    server = _GuardedServer(handler, header_timeout=header_timeout, **kwargs)
    return web.ServerRunner(server, shutdown_timeout=shutdown_timeout)
