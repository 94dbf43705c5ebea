"""Path normalisation and route matching: what was checked is what is served.

:func:`normalise` parses the raw path (no query) once, refuses a path that backends read
differently (:class:`~gateway.errors.BadPath`, a 400), and derives every reading from that one
parse (:class:`RequestPath`):

``forward``
    What the upstream receives: percent-decoded, dot segments resolved, repeated slashes
    merged, ``%2F``, ``%5C`` and ``\\`` read as separators, then re-encoded (unreserved
    characters literal, sub-delimiters and ``:`` ``@`` as the client sent them, the rest
    ``%XX`` of its UTF-8).
``exact``
    The decoded form of ``forward``, case kept.
``match``
    The folded reading for route matching: each segment NFKC-normalised, lower-cased and
    stripped of trailing dots and spaces.

:func:`match_route` leans towards denying: every route must hold the folded reading, a public
route the literal one too. A raw ``#`` ends the path; the query never takes part.

Why each reading is what it is, what is refused and the backends each refusal guards against:
SECURITY.md, "Request paths". The cases are in tests/data/path_tricks.tsv
(tests/unit/test_routes.py) and tests/hostile/test_path_tricks.py.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from gateway.config import Route
from gateway.errors import BadPath

# Longer than any real app path, short enough that parsing a hostile one is cheap.
MAX_PATH_LENGTH = 8192

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Reserved characters legal in a segment; they are forwarded in the form the client chose.
_SUB_DELIMS = frozenset("!$&'()*+,=:@")
_SEPARATORS = frozenset("/\\")
# Raw characters that never belong in a path we forward. `?` means the caller passed a query.
_RAW_REFUSED = frozenset(" ?")
# What a compatibility character must not fold into: it would change the structure.
_STRUCTURAL = frozenset("/\\%;?#")
# Paths that are already canonical: non-empty segments of unreserved characters and sub-delims
# that do not start with a dot (so no dot segments), nothing to decode. Most requests.
_PLAIN = re.compile(r"(?:/[A-Za-z0-9!$&'()*+,=:@_~-][A-Za-z0-9!$&'()*+,=:@._~-]*)*/?")
_TOKENS = re.compile(r"((?:%[0-9A-Fa-f]{2})+)|([^%]+)|(%)")
_DOUBLE_ENCODED = re.compile(r"%(?:[0-9A-Fa-f]{2}|[uU][0-9A-Fa-f]{4})")

_Char = tuple[str, bool]  # a decoded character and whether the client percent-encoded it


@dataclass(frozen=True, slots=True)
class _Segment:
    chars: list[_Char]
    text: str  # decoded, case preserved
    folded: str  # the matching form


@dataclass(frozen=True, slots=True)
class RequestPath:
    """One parse of a request path; see the module docstring for the three readings."""

    match: str  # folded: NFKC, lower-cased, trailing dots/spaces dropped; for route matching
    forward: str  # sent upstream: resolved, merged, safely re-encoded
    exact: str  # the decoded form of `forward`, case preserved; public routes must match it


def normalise(raw_path: str) -> RequestPath:
    """Parse the request target's path as sent (no query). Raises :class:`BadPath`."""
    if len(raw_path) > MAX_PATH_LENGTH:
        raise BadPath("path too long")
    if not raw_path.startswith("/"):
        raise BadPath("path must start with /")
    if _PLAIN.fullmatch(raw_path):
        return _plain(raw_path)
    return _parse(raw_path)


def _plain(raw_path: str) -> RequestPath:
    """The common case, without the general parse: nothing to decode, resolve or encode."""
    folded = [seg.lower().rstrip(".") for seg in raw_path.split("/")]
    return RequestPath(match="/".join(folded), forward=raw_path, exact=raw_path)


def _parse(raw_path: str) -> RequestPath:
    kept, trailing = _resolve(_split(_decode(raw_path.partition("#")[0])))
    suffix = "/" if trailing and kept else ""

    def join(parts: list[str]) -> str:
        return "/" + "/".join(parts) + suffix

    return RequestPath(
        match=join([seg.folded for seg in kept]),
        forward=join([_encode(seg.chars) for seg in kept]),
        exact=join([seg.text for seg in kept]),
    )


def match_route(routes: Sequence[Route], path: RequestPath) -> Route | None:
    """The first route whose prefix holds the path on a segment boundary.

    Every route must hold the folded reading; a public route must also hold the literal one,
    so that no backend reading can reach, unauthenticated, a path the rules did not make
    public, and no backend folding can reach a protected path by another spelling.
    """
    for route in routes:
        folded, literal = _prefixes(route.prefix, route.path)
        if _under(path.match, folded) and (not route.public or _under(path.exact, literal)):
            return route
    return None


def _under(path: str, prefix: str) -> bool:
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


@lru_cache(maxsize=1024)
def _prefixes(prefix: str, path: str) -> tuple[str, str]:
    """The route's prefix folded like a request path, and its literal (as written) form."""
    try:
        folded = normalise(prefix or "/").match.rstrip("/")
    except BadPath:
        folded = prefix
    try:
        literal = normalise(path).exact.rstrip("/")
    except BadPath:
        literal = prefix
    return folded, literal


def _decode(raw: str) -> list[_Char]:
    chars: list[_Char] = []
    for escapes, literal, stray in _TOKENS.findall(raw):
        if stray:
            raise BadPath("malformed percent-escape")
        if literal:
            _check_raw(literal)
            chars.extend((ch, False) for ch in literal)
            continue
        try:
            text = bytes.fromhex(escapes.replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            raise BadPath("invalid UTF-8 in path") from None
        chars.extend((ch, True) for ch in text)
    if any(_is_control(ch) for ch, _ in chars):
        raise BadPath("control character in path")
    if any(ch == ";" for ch, _ in chars):
        raise BadPath("path parameters (;) are not accepted")
    return chars


def _check_raw(literal: str) -> None:
    if not _RAW_REFUSED.isdisjoint(literal):
        raise BadPath("space or '?' in path")
    try:
        literal.encode("utf-8")
    except UnicodeEncodeError:
        raise BadPath("invalid UTF-8 in path") from None


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F


def _split(chars: list[_Char]) -> list[list[_Char]]:
    segments: list[list[_Char]] = [[]]
    for ch, encoded in chars:
        if ch in _SEPARATORS:
            segments.append([])
        else:
            segments[-1].append((ch, encoded))
    return segments[1:]  # the raw path starts with "/": the first piece is always empty


def _resolve(segments: list[list[_Char]]) -> tuple[list[_Segment], bool]:
    """RFC 3986 dot-segment removal plus slash merging; also says if a slash ends the path.

    Every segment is checked when it is read, even one a later ``..`` removes: a backend
    that folds differently must not be able to resolve the dots differently.
    """
    stack: list[_Segment] = []
    trailing = False
    for chars in segments:
        text = "".join(ch for ch, _ in chars)
        if text == "..":
            if not stack:
                raise BadPath("'..' above the root")
            stack.pop()
        elif text not in ("", "."):
            if _DOUBLE_ENCODED.search(text):
                raise BadPath("double-encoded path")
            stack.append(_Segment(chars, text, _fold(text)))
        trailing = text in ("", ".", "..")
    return stack, trailing


def _fold(text: str) -> str:
    if not text.isascii():
        for ch in text:
            if not ch.isascii() and not _STRUCTURAL.isdisjoint(unicodedata.normalize("NFKC", ch)):
                raise BadPath("character folds to a path delimiter")
        text = unicodedata.normalize("NFKC", text)
    folded = text.lower().rstrip(". ")
    if not folded:
        raise BadPath("segment of dots and spaces")
    return folded


def _encode(segment: list[_Char]) -> str:
    out: list[str] = []
    for ch, encoded in segment:
        if ch in _UNRESERVED or (ch in _SUB_DELIMS and not encoded):
            out.append(ch)
        else:
            out.append(quote(ch, safe=""))
    return "".join(out)
