"""The upstream connections of one config: per upstream, keep-alive HTTP connections (the lean
client) and an aiohttp session for WebSockets. Rebuilt by a reload that changes the upstreams
or the timeouts (see :meth:`gateway.state.GatewayState.swap`)."""

from __future__ import annotations

import aiohttp
from aiohttp import hdrs

from gateway.config import Timeouts, Upstream
from gateway.upstream.h1client import Connections

# Headers aiohttp would otherwise invent on the upstream request; the upstream should see only
# what the client sent (an invented Accept-Encoding would change what the app answers).
_AUTO_HEADERS = (hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.USER_AGENT, hdrs.CONTENT_TYPE)
# Idle pooled connections are dropped before Node's default 5 s keepAliveTimeout, so the
# gateway never sends a request on a socket the upstream is closing (a POST would fail).
KEEPALIVE_SECONDS = 4.0
# A header line of the upstream's answer may be this long (aiohttp's default is 8190; long
# Content-Security-Policy values and NextAuth's ~4 KB cookie chunks come close).
MAX_UPSTREAM_FIELD = 65536


class UpstreamPool:
    """Per upstream: keep-alive connections for HTTP (:class:`Connections`, the lean client)
    and an aiohttp.ClientSession for WebSockets (no cookie jar, no decompression, no
    redirects followed, trust_env False)."""

    def __init__(self, timeouts: Timeouts) -> None:
        self.timeouts = timeouts
        # sock_read bounds the wait for the response headers and every gap between body chunks.
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=timeouts.connect, sock_read=timeouts.upstream
        )
        self._sessions: dict[Upstream, aiohttp.ClientSession] = {}
        self._connections: dict[Upstream, Connections] = {}

    def connections(self, upstream: Upstream) -> Connections:
        """The upstream's HTTP connections, created on first use."""
        connections = self._connections.get(upstream)
        if connections is None:
            connections = self._connections[upstream] = Connections(
                upstream,
                connect_timeout=self.timeouts.connect,
                read_timeout=self.timeouts.upstream,
                keepalive=KEEPALIVE_SECONDS,
                max_field_size=MAX_UPSTREAM_FIELD,
            )
        return connections

    def session(self, upstream: Upstream) -> aiohttp.ClientSession:
        """The upstream's WebSocket session, created on first use (inside the running loop)."""
        session = self._sessions.get(upstream)
        if session is None or session.closed:
            session = self._sessions[upstream] = self._new_session()
        return session

    def _new_session(self) -> aiohttp.ClientSession:
        # limit=0: each upstream connection stands for a client the server already accepted.
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS)
        return aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            skip_auto_headers=_AUTO_HEADERS,
            max_field_size=MAX_UPSTREAM_FIELD,
            max_line_size=MAX_UPSTREAM_FIELD,
        )

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        connections, self._connections = list(self._connections.values()), {}
        for pool in connections:
            await pool.close()
        for session in sessions:
            await session.close()
