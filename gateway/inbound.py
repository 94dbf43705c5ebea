"""Which of the client's request headers the upstream may see, decided in one pass.

A header never reaches the upstream when it is hop-by-hop (the standard ones, ``Proxy-*``,
anything a ``Connection`` header names), when any backend could read it as an identity or a
forwarding header (:func:`gateway.identity.header_key` spellings), or when the gateway writes
it itself (``Cookie``, the body framing, ``Expect``, ``X-Request-Id``). The verdict for a name
depends only on the config, so it is memoised per name: browsers send the same few dozen
names again and again, and a hostile stream of new names only churns a bounded cache.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping

from multidict import CIMultiDict

from gateway.identity import header_key
from gateway.trust import FORWARDING_HEADERS
from gateway.upstream import connection_tokens, is_hop_by_hop

# Rewritten by the gateway: the checked session cookie, the body framing of its own request to
# the upstream (the server already answered any 100-continue), its request id.
REWRITTEN = frozenset({"cookie", "content-length", "transfer-encoding", "expect"})
# A CORS preflight carries no cookies: it must not turn into a DELETE in an app that honours
# method overrides.
METHOD_OVERRIDES = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")
MEMO_NAMES = 1024


class InboundFilter:
    """The inbound-header verdicts for one config's identity header names."""

    def __init__(self, identity_names: Iterable[str]) -> None:
        keys = frozenset(header_key(name) for name in (*identity_names, *FORWARDING_HEADERS))
        keys |= {header_key("X-Request-Id")}
        overrides = frozenset(header_key(name) for name in METHOD_OVERRIDES)
        self._dropped: Callable[[str], bool] = functools.lru_cache(MEMO_NAMES)(
            functools.partial(_dropped, keys)
        )
        self._override: Callable[[str], bool] = functools.lru_cache(MEMO_NAMES)(
            lambda name: header_key(name) in overrides
        )

    def kept(self, inbound: Mapping[str, str], *, preflight: bool) -> CIMultiDict[str]:
        """The inbound headers the upstream may see, in their order (``Host`` among them)."""
        named = connection_tokens(inbound) if "Connection" in inbound else None
        dropped, override = self._dropped, self._override
        out: CIMultiDict[str] = CIMultiDict()
        for name, value in inbound.items():
            if dropped(name) or (preflight and override(name)):
                continue
            if named and name.lower() in named:
                continue
            out.add(name, value)
        return out


def _dropped(keys: frozenset[str], name: str) -> bool:
    return is_hop_by_hop(name) or name.lower() in REWRITTEN or header_key(name) in keys
