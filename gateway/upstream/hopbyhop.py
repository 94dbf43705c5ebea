"""Hop-by-hop headers: those that describe one connection, never forwarded either way.

RFC 9110 7.6.1's list plus the usual leftovers, every ``Proxy-*`` header, and whatever a
``Connection`` header names (Host excepted). Verdicts on a name are memoised: header names
repeat from request to request.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from aiohttp import hdrs
from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

# RFC 9110 7.6.1 plus the usual leftovers (Proxy-Connection, Keep-Alive, HTTP2-Settings).
# Headers named in `Connection` and every `Proxy-*` header are removed as well.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "http2-settings",
    }
)


def tokens(values: Iterable[str]) -> set[str]:
    """The lower-cased tokens of comma-separated header values, empty ones dropped."""
    return {token.strip().lower() for value in values for token in value.split(",")} - {""}


def connection_tokens(headers: Mapping[str, str]) -> set[str]:
    """The lower-cased names every ``Connection`` header lists (any case, comma lists), Host
    excepted: Host is never hop-by-hop, a client naming it must not swap the Host the app
    sees."""
    values = headers.getall(hdrs.CONNECTION, ()) if isinstance(headers, MultiMapping) else ()
    return tokens(values) - {"host"}


@functools.lru_cache(maxsize=1024)
def is_hop_by_hop(name: str) -> bool:
    """A standard hop-by-hop header or a ``Proxy-*`` one (memoised: names repeat)."""
    lower = name.lower()
    return lower in HOP_BY_HOP or lower.startswith("proxy-")


def end_to_end(headers: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    """A copy of ``headers`` without the hop-by-hop ones: the standard ones, every name any
    ``Connection`` header lists, and every ``Proxy-*`` header."""
    named = connection_tokens(headers) if hdrs.CONNECTION in headers else None
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        if not is_hop_by_hop(name) and not (named and name.lower() in named):
            out.add(name, value)
    return out
