"""Forwarding to the upstream: one request out, its answer streamed back.

The face of the package: :func:`forward_http` and :func:`forward_websocket` (what the
pipeline calls), :func:`is_websocket_upgrade`, the :class:`UpstreamPool` of keep-alive
connections a process holds, and the hop-by-hop rules the inbound header filter shares.
Inside: ``forward`` (bodies streamed both ways, failures mapped to
:class:`~gateway.errors.UpstreamError`), ``h1client`` (a lean HTTP/1.1 client on aiohttp's
own protocol), ``pool``, ``hopbyhop`` and ``websocket`` (the frame relay).
"""

from gateway.upstream.forward import forward_http, forward_websocket, is_websocket_upgrade
from gateway.upstream.hopbyhop import connection_tokens, is_hop_by_hop
from gateway.upstream.pool import UpstreamPool

__all__ = [
    "UpstreamPool",
    "connection_tokens",
    "forward_http",
    "forward_websocket",
    "is_hop_by_hop",
    "is_websocket_upgrade",
]
