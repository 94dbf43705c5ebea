"""Which app a request is for, by the host it names: the table several apps are chosen from.

A host is compared as a key (:func:`host_key`): lower case, the port dropped, one trailing dot
dropped, so ``Shop.Example.com:443`` and ``shop.example.com.`` are the same app. Exact names
win over wildcards; among wildcards the longest suffix wins. ``*.example.com`` matches any
name below ``example.com`` (one label or more, as nginx's ``server_name`` does), never
``example.com`` itself. A table with a ``fallback`` (a one-app file, which names no hosts)
answers every host with it.

Trust assumption: the host given to :meth:`HostTable.find` is the client's ``Host``, or a
trusted proxy's ``X-Forwarded-Host`` (see :mod:`gateway.trust`), already checked to be a
well-formed host; anything else finds no app, never another app's upstream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

T = TypeVar("T")

_LABEL: Final = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME: Final = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_IPV6: Final = re.compile(r"\[[0-9a-f:.]+\]")
WILDCARD: Final = "*."


def host_key(host: str) -> str:
    """``host`` as it is compared: lower case, no port, no trailing dot."""
    host = host.lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    name = host.partition(":")[0]
    return name[:-1] if name.endswith(".") else name


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot name a host (None: it can): a name, a bracketed IPv6 address,
    or ``*.`` followed by a name of at least two labels (``*.com`` would take a whole TLD)."""
    text = pattern.lower().rstrip(".") if not pattern.startswith("[") else pattern.lower()
    if text.startswith(WILDCARD):
        rest = text[len(WILDCARD) :]
        if not _NAME.fullmatch(rest) or "*" in rest:
            return "a wildcard is *. followed by a host name, e.g. *.example.com"
        if "." not in rest:
            return "a wildcard must keep at least two labels after *. (*.example.com)"
        return None
    if "*" in text:
        return "* may only be the whole first label (*.example.com)"
    if ":" in text and not text.startswith("["):
        return "a host is named without a port (the port is ignored)"
    if _IPV6.fullmatch(text) or (_NAME.fullmatch(text) and len(text) <= 253):
        return None
    return "is not a host name (letters, digits, - and . ; or [IPv6])"


@dataclass(frozen=True, slots=True)
class HostTable(Generic[T]):
    """Host keys to apps: ``exact`` names, ``wildcards`` as (suffix with its leading dot,
    app) longest first, and ``fallback`` for every host (a one-app file), or None."""

    exact: dict[str, T]
    wildcards: tuple[tuple[str, T], ...]
    fallback: T | None = None

    @classmethod
    def build(cls, entries: Iterable[tuple[Iterable[str], T]]) -> HostTable[T]:
        """From (patterns, app) pairs, patterns already valid and unique (the config's
        checks); the first app to claim a key keeps it."""
        exact: dict[str, T] = {}
        wildcards: dict[str, T] = {}
        for patterns, app in entries:
            for pattern in patterns:
                key = host_key(pattern)
                if key.startswith(WILDCARD):
                    wildcards.setdefault(key[1:], app)
                else:
                    exact.setdefault(key, app)
        ordered = sorted(wildcards.items(), key=lambda item: -len(item[0]))
        return cls(exact, tuple(ordered))

    @classmethod
    def every_host(cls, app: T) -> HostTable[T]:
        return cls({}, (), app)

    def find(self, host: str | None) -> T | None:
        """The app for ``host`` (None: no host given, or no app claims it)."""
        if self.fallback is not None:
            return self.fallback
        if not host:
            return None
        key = host_key(host)
        found = self.exact.get(key)
        if found is not None:
            return found
        for suffix, app in self.wildcards:
            if key.endswith(suffix) and len(key) > len(suffix):
                return app
        return None
