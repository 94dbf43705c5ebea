"""A bounded cache of decoded session tokens in front of the codec: a user's cookie is
decrypted once, not on every request.

It never extends a session (the policy checks time on every request), remembers failures too
(a bad cookie sent again costs a lookup), and is keyed by (cookie name, SHA-256 of the token)
so its memory is bounded by the entry count whatever the token sizes.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from gateway.session.token import Decoded, InvalidToken, SessionCodec


class DecodeCache:
    """A bounded LRU in front of :meth:`SessionCodec.decode`, keyed by (cookie name, SHA-256 of
    the token), remembering failures too. Keying by digest bounds memory by the entry count
    whatever the token sizes. The cache never extends a session: the policy checks time on
    every request. Each call returns fresh claims, so callers cannot alter the cached ones.
    Made for one event loop (no locking); build a new one with each new codec."""

    def __init__(self, codec: SessionCodec, max_entries: int) -> None:
        self._codec = codec
        self._max_entries = max(0, max_entries)
        self._entries: OrderedDict[tuple[str, bytes], _Flat | Decoded | str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def decode(self, token: str, cookie_name: str) -> Decoded:
        key = (cookie_name, hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest())
        entry = self._entries.get(key)
        if entry is None:
            entry = self._decode(token, cookie_name)
            self._remember(key, entry)
        else:
            self._entries.move_to_end(key)
        if isinstance(entry, str):
            raise InvalidToken(entry)  # a new exception each time: a shared one grows tracebacks
        if isinstance(entry, tuple):
            return Decoded(dict(entry[1]), entry[0])
        return Decoded(_copy_json(entry.claims), entry.secret_index)

    def _decode(self, token: str, cookie_name: str) -> _Flat | Decoded | str:
        """What the cache keeps: the failure's reason, or the claims. A session's claims are
        nearly always flat (strings and numbers): those are kept as a tuple of pairs, which
        the garbage collector stops tracking, so a full cache of them costs its full
        collections nothing (a tracked entry per new sign-in showed in bench case (b):
        bench/README.md); nested ones are kept as decoded and deep-copied on each hit."""
        try:
            decoded = self._codec.decode(token, cookie_name)
        except InvalidToken as error:
            return error.reason
        claims = decoded.claims
        if all(isinstance(v, str | int | float | None) for v in claims.values()):
            return decoded.secret_index, tuple(claims.items())
        return decoded

    def _remember(self, key: tuple[str, bytes], entry: _Flat | Decoded | str) -> None:
        if self._max_entries == 0:
            return
        self._entries[key] = entry
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)


_Flat = tuple[int, tuple[tuple[str, Any], ...]]  # (secret index, claims as pairs)


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists and immutable scalars), faster than deepcopy."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value
