"""Identity headers: the inbound copies removed in every spelling, ours built from claims.

A client must never be able to say who it is. Backends fold header names differently: CGI,
WSGI and PHP turn ``-`` into ``_`` (``X_Auth_Request_User`` and ``X-Auth-Request-User`` both
become ``HTTP_X_AUTH_REQUEST_USER``), some drop or map other punctuation. So a header is
removed when its name, lower-cased and stripped of everything but letters and digits
(:func:`header_key`), equals a configured name's: a superset of every folding we know of.
The removal itself is :class:`gateway.inbound.InboundFilter`, with the other inbound rules.

A claim value is forwarded only when it is unambiguous text: a string, a finite number, a
boolean, or a list of strings (comma-joined). Objects, nulls, nested lists, values over
:data:`MAX_VALUE_BYTES`, control characters (CR/LF header injection among them), and edges or
list items a header parser would trim or split differently are not sent at all: the header
is absent rather than wrong.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

# Re-exported: callers find the "who is asking, and how" helpers here.
from gateway.navigation import is_navigation as is_navigation

# Far above any real identity value; small enough that a hostile claim cannot bloat requests.
MAX_VALUE_BYTES = 1024
# An int this wide has at most ~1024 digits: anything wider is over the limit anyway, and
# Python refuses int -> str past 4300 digits (a ValueError, i.e. a 500, not a skipped header).
_MAX_INT_BITS = 3400
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


@functools.lru_cache(maxsize=4096)
def header_key(name: str) -> str:
    """The form every backend folding of ``name`` shares: ``X_Auth-User`` -> ``xauthuser``."""
    return _NOT_ALNUM.sub("", name.lower())


def identity_values(
    claims: Mapping[str, Any], mapping: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """``(header, value)`` for each configured ``(header, claim path)`` whose value is safe."""
    out: list[tuple[str, str]] = []
    for header, path in mapping:
        value = header_value(claim(claims, path))
        if value is not None:
            out.append((header, value))
    return out


def header_value(value: object) -> str | None:
    """A claim as header text, or ``None`` when it must not be sent."""
    text: str | None
    if isinstance(value, list):
        if not all(isinstance(item, str) and _is_safe(item) and "," not in item for item in value):
            return None
        text = ",".join(value)
    else:
        text = _scalar(value)
    return text if text is not None and _is_safe(text) else None


def claim(claims: Mapping[str, Any], path: str) -> object | None:
    """Dotted lookup: ``a.b`` is ``claims["a"]["b"]``.

    A key that itself contains dots (namespaced claims such as
    ``https://example.com/roles``) is found too: at each level the whole remaining path is
    tried as a key first, then its longest dotted prefix that names an object.
    """
    if path in claims:
        found: object = claims[path]
        return found
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        inner = claims.get(".".join(parts[:cut]))
        if isinstance(inner, Mapping):
            return claim(inner, ".".join(parts[cut:]))
    return None


def _scalar(value: object) -> str | None:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() <= _MAX_INT_BITS else None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # As JavaScript prints it, which is what the app's own code would show: 3.0 -> "3".
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    return value if isinstance(value, str) else None


def _is_safe(text: str) -> bool:
    if text.isascii():  # no surrogates, one byte a character
        return len(text) <= MAX_VALUE_BYTES and not _CONTROL.search(text) and text == text.strip()
    return (
        len(text) <= MAX_VALUE_BYTES  # cheap first: the byte count is at least the length
        and len(text.encode("utf-8", "surrogatepass")) <= MAX_VALUE_BYTES
        and not _CONTROL.search(text)
        and text == text.strip()
        and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)
    )
