"""The session cookie on the wire: parse ``Cookie`` headers, find the (chunked) session, and
write ``Set-Cookie`` values the way NextAuth's ``SessionStore`` and ``cookie.serialize`` do.

Pure functions on strings. Reading is deliberately stricter than the packages, whose
``SessionStore`` folds in every cookie whose name merely *starts with* the session name and
sorts by ``parseInt`` of the last dot segment: the gateway reads exactly ``B`` or
``B.0 .. B.{n-1}``, and anything ambiguous (a gap, a duplicate, a bad index, the bare name
next to chunks, an empty value) is an invalid session rather than a guess that might differ
from what the app reads. Names the app could fold in but the gateway did not read are
reported in :attr:`SessionCookie.extraneous`, so they can be kept away from the app.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from gateway.config import Flavor

# SessionStore: 4096 minus its estimate of an empty cookie's attributes (163 in
# next-auth/core/lib/cookie.js, 160 in @auth/core/lib/utils/cookie.js).
CHUNK_SIZE: Final[dict[Flavor, int]] = {"nextauth-v4": 3933, "authjs-v5": 3936}

SECURE_PREFIX: Final = "__Secure-"
# Cookie names, values and domains as the `cookie` package's serialize() accepts them; checked
# so that nothing we write can smuggle an attribute or a header.
_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE: Final = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*")
_LABEL: Final = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN: Final = re.compile(rf"\.?{_LABEL}(\.{_LABEL})*", re.IGNORECASE)
_INDEX: Final = re.compile(r"0|[1-9][0-9]{0,5}")  # decimal, no leading zero, bounded
_LAST_DATE: Final = 253402300799  # 9999-12-31T23:59:59Z

PROBLEMS: Final = ("duplicate", "bad index", "empty", "bare name plus chunks", "too many", "gap")


@dataclass(frozen=True, slots=True)
class SessionCookie:
    """The session as found in one request.

    ``name``: the effective base name read (``B`` or ``__Secure-B``), None when none is present.
    ``value``: the joined token; None when absent or when ``problem`` is set.
    ``present``: every request cookie name of the session under both variants (bare and
    chunks, bad ones too), in request order: strip them upstream and delete them when invalid.
    ``problem``: why the cookies are not a valid session (one of :data:`PROBLEMS`).
    ``extraneous``: names next-auth's ``startsWith`` would fold into the session that the
    gateway did not read: the other variant's cookies and look-alikes such as ``B-x``.
    """

    name: str | None
    value: str | None
    present: tuple[str, ...]
    problem: str | None
    extraneous: tuple[str, ...] = ()


def parse_cookie_header(values: Iterable[str]) -> list[tuple[str, str]]:
    """Every ``name=value`` pair of every ``Cookie`` header, in order, trimmed of spaces and
    tabs. Values are kept raw (no unquoting or percent-decoding). A piece without ``=`` is a
    nameless cookie, as browsers send one: ``("", piece)``. Never raises."""
    pairs: list[tuple[str, str]] = []
    for header in values:
        for piece in str(header).split(";"):
            name, eq, value = piece.partition("=")
            if eq:
                pairs.append((name.strip(" \t"), value.strip(" \t")))
            elif piece.strip(" \t"):
                pairs.append(("", piece.strip(" \t")))
    return pairs


def read_session(pairs: Sequence[tuple[str, str]], base: str, max_chunks: int) -> SessionCookie:
    """Find the session named ``base`` (its ``__Secure-`` variant wins when it has any
    cookie): the bare name, or chunks ``.0 .. .{n-1}`` (``n <= max_chunks``) joined in
    numeric order."""
    plain = base.removeprefix(SECURE_PREFIX)
    if not plain:
        raise ValueError("the session cookie base name is empty")
    variants = (SECURE_PREFIX + plain, plain)
    if len(pairs) == 1 and pairs[0][0] == plain and pairs[0][1]:
        return SessionCookie(plain, pairs[0][1], (plain,), None)  # the common case, at once
    found: dict[str, list[tuple[str, str]]] = {v: [] for v in variants}
    present: dict[str, None] = {}
    lookalikes: dict[str, None] = {}
    for name, value in pairs:
        variant = _variant_of(name, variants)
        if variant is not None:
            found[variant].append((name[len(variant) :], value))
            present[name] = None
        elif name.startswith(variants):
            lookalikes[name] = None
    chosen = next((v for v in variants if found[v]), None)
    if chosen is None:
        return SessionCookie(None, None, (), None, tuple(lookalikes))
    other = [n for n in present if not _belongs(n, chosen)]
    joined, problem = _join(found[chosen], max_chunks)
    return SessionCookie(chosen, joined, tuple(present), problem, (*other, *lookalikes))


def _variant_of(name: str, variants: tuple[str, str]) -> str | None:
    for variant in variants:
        if _belongs(name, variant):
            return variant
    return None


def _belongs(name: str, base: str) -> bool:
    """``name`` is ``base`` itself or ``base.<anything>`` (a chunk, or a bad chunk name)."""
    return name == base or (name.startswith(base) and name[len(base)] == ".")


def _join(cookies: list[tuple[str, str]], max_chunks: int) -> tuple[str | None, str | None]:
    """(joined value, None) or (None, problem) for one variant's (suffix, value) list."""
    suffixes = [suffix for suffix, _ in cookies]
    if len(set(suffixes)) != len(suffixes):
        return None, "duplicate"  # parsers disagree on which copy wins: never guess
    if any(suffix and not _INDEX.fullmatch(suffix[1:]) for suffix in suffixes):
        return None, "bad index"
    if any(not value for _, value in cookies):
        return None, "empty"
    if "" in suffixes:
        return (cookies[0][1], None) if len(cookies) == 1 else (None, "bare name plus chunks")
    chunks = {int(suffix[1:]): value for suffix, value in cookies}
    if len(chunks) > max_chunks:
        return None, "too many"
    if max(chunks) != len(chunks) - 1:
        return None, "gap"
    return "".join(chunks[i] for i in range(len(chunks))), None


def without(pairs: Sequence[tuple[str, str]], names: Collection[str]) -> str:
    """The ``Cookie`` header value rebuilt from ``pairs`` minus ``names`` ("" if none left)."""
    drop = set(names)
    return "; ".join(f"{n}={v}" if n else v for n, v in pairs if n not in drop)


def set_session(
    name: str,
    token: str,
    *,
    expires: int,
    secure: bool,
    domain: str | None,
    chunk_size: int,
    present: Sequence[str],
) -> list[str]:
    """``Set-Cookie`` values writing ``token`` under ``name`` (the bare name if it fits one
    chunk, else ``name.0 .. name.{n-1}``), then deleting the stale names of the same variant
    among ``present``. ``expires`` is unix seconds. Raises ValueError on an empty token or
    on text that cannot be a cookie name, value or domain."""
    if not token or chunk_size < 1:
        raise ValueError("an empty token or chunk size cannot be written")
    count = -(-len(token) // chunk_size)
    if count == 1:
        written = [(name, token)]
    else:
        step = chunk_size
        written = [(f"{name}.{i}", token[i * step : (i + 1) * step]) for i in range(count)]
    attributes = _attributes(name, secure=secure, domain=domain)
    # An HTTP date has four digits of year and no sign: an exp the claims allow but the
    # date cannot write (past 9999, before 1970) is written as the nearest date it can.
    expiry = email.utils.formatdate(min(max(expires, 0), _LAST_DATE), usegmt=True)
    cookies = [_live(n, v, attributes, expiry) for n, v in written]
    names = {n for n, _ in written}
    stale = [n for n in dict.fromkeys(present) if _belongs(n, name) and n not in names]
    return cookies + delete_session(stale, secure=secure, domain=domain)


def delete_session(names: Sequence[str], *, secure: bool, domain: str | None) -> list[str]:
    """``Set-Cookie`` values deleting ``names``: ``NAME=; Max-Age=0; Path=/; HttpOnly; ...``
    with the same Domain and Secure as the live cookie (Secure always for ``__Secure-``).

    A name that is not a token (``B.٣``, ``B.(``: a browser sends what any script or sibling
    domain set) is skipped: it cannot be written back without risking header injection, and
    raising here would turn a hostile cookie into a 500. It stays refused and is never
    forwarded, so skipping it opens nothing."""
    out = []
    for name in dict.fromkeys(names):
        if not _NAME.fullmatch(name):
            continue
        attributes = _attributes(name, secure=secure, domain=domain)
        out.append(f"{name}=; Max-Age=0{attributes.prefix}{attributes.suffix}")
    return out


@dataclass(frozen=True, slots=True)
class _Attributes:
    prefix: str  # before Expires: "; Domain=...; Path=/"
    suffix: str  # after Expires: "; HttpOnly; Secure; SameSite=Lax"


def _attributes(name: str, *, secure: bool, domain: str | None) -> _Attributes:
    # The order cookie.serialize writes: Max-Age, Domain, Path, Expires, HttpOnly, Secure,
    # SameSite. Browsers drop a __Secure- cookie set without Secure.
    if domain is not None:
        _check(_DOMAIN, domain, "cookie domain")
    prefix = (f"; Domain={domain}" if domain else "") + "; Path=/"
    secure = secure or name.startswith(SECURE_PREFIX)
    return _Attributes(prefix, "; HttpOnly" + ("; Secure" if secure else "") + "; SameSite=Lax")


def _live(name: str, value: str, attributes: _Attributes, expiry: str) -> str:
    _check(_NAME, name, "cookie name")
    _check(_VALUE, value, "cookie value")
    return f"{name}={value}{attributes.prefix}; Expires={expiry}{attributes.suffix}"


def _check(pattern: re.Pattern[str], text: str, what: str) -> None:
    if not pattern.fullmatch(text):
        raise ValueError(f"invalid {what}")  # the text itself is left out: it may be a token
