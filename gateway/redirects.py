"""The login redirect: a return address that can only ever lead back to this origin.

The ``callbackUrl`` is read by browsers, by NextAuth's redirect callback and, in the wild, by
login pages that decode it once more than they should. So :func:`callback_target` produces a
path-absolute reference (``/`` then anything but a second ``/``) that stays path-absolute
under every reading we know of:

- WHATWG URL parsing (what browsers and Node's ``URL`` do): tabs, CR and LF are removed
  anywhere, leading C0 controls and spaces are trimmed, and ``\\`` is ``/`` in http(s) URLs,
  so ``/\\evil.com`` and ``/%09/evil.com`` decoded are both ``//evil.com``, another host;
- any number of extra percent-decodings (``/%2f%2fevil.com``, ``/%252f%252fevil.com``).

Anything that could start with ``//`` under one of those readings becomes ``/``, and so does
anything whose resolved path would (``/..//evil.com`` resolves to path ``//evil.com``: on
this origin, but a page that redirects to the parsed URL's path would leave it). The rest is
kept (it is the user's own path) with every character outside a conservative set
percent-encoded, so the value is plain ASCII with no spaces, controls or ``#``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_plus

from gateway.config import LoginSettings

# A return address longer than this is dropped for "/": the login Location carries it
# encoded again (up to three times longer), and header limits of 8 KB are common.
MAX_CALLBACK_LENGTH = 2048
# How many extra decodings a login page may apply before we stop caring: more than any
# real page does, bounded so a hostile value costs little.
_DECODE_ROUNDS = 4

_SAFE_PATH = "-._~!$&'()*+,;=:@/"
_SAFE_QUERY = _SAFE_PATH + "?"
_ESCAPE_OR_CHAR = re.compile(r"%[0-9A-Fa-f]{2}|.", re.DOTALL)
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_OR_SPACE = "".join(map(chr, range(0x21)))


def callback_target(raw_path_qs: str) -> str:
    """The original request path and query as a same-origin relative reference, or ``/``."""
    text = raw_path_qs.translate(_TAB_NEWLINE)  # the browser would drop them too
    path, question, query = text.partition("?")
    # The browser reads `\` as `/` in the path (not in the query), so write it as it reads.
    candidate = _encode(path.replace("\\", "/"), _SAFE_PATH)
    candidate += question + _encode(query, _SAFE_QUERY)
    if len(candidate) > MAX_CALLBACK_LENGTH or not _stays_on_origin(candidate):
        return "/"
    return candidate


def login_location(login: LoginSettings, *, callback: str, public_url: str | None) -> str:
    """``login.url`` with ``<callback_param>=<callback>`` added to its query.

    The callback is made safe again here (it is idempotent on a safe value), so no caller can
    put an off-origin address in the Location. It is absolute only when ``public_url`` is set:
    the client's Host header is never a source of absolute URLs. An existing parameter of the
    same name in ``login.url`` is replaced, since login pages read the first one.
    """
    target = callback_target(callback)
    if public_url:
        target = public_url.rstrip("/") + target
    base, hash_mark, fragment = login.url.partition("#")
    path, _, query = base.partition("?")
    params = [p for p in query.split("&") if p and _name(p) != login.callback_param]
    params.append(f"{quote(login.callback_param, safe='')}={quote(target, safe='')}")
    return f"{path}?{'&'.join(params)}{hash_mark}{fragment}"


def _name(param: str) -> str:
    return unquote_plus(param.partition("=")[0])


def _encode(text: str, safe: str) -> str:
    """Percent-encode every character outside ``safe``; keep well-formed escapes as sent."""

    def one(m: re.Match[str]) -> str:
        token = m.group()
        if len(token) == 3 or token in safe or (token.isascii() and token.isalnum()):
            return token
        return quote(token.encode("utf-8", "surrogatepass"), safe="")

    return _ESCAPE_OR_CHAR.sub(one, text)


def _stays_on_origin(ref: str) -> bool:
    """Whether ``ref``, and every further percent-decoding of it, is path-absolute."""
    for _ in range(_DECODE_ROUNDS + 1):
        seen = ref.translate(_TAB_NEWLINE).lstrip(_C0_OR_SPACE).replace("\\", "/")
        if not seen.startswith("/") or seen.startswith("//") or _resolves_to_double_slash(seen):
            return False
        decoded = unquote(ref)
        if decoded == ref:
            return True
        ref = decoded
    return False  # still changing after every round: encoded deeper than anyone decodes


def _resolves_to_double_slash(ref: str) -> bool:
    """Whether WHATWG dot-segment removal turns the path of ``ref`` into ``//...``."""
    segments = re.split(r"[?#]", ref, maxsplit=1)[0].split("/")[1:]
    path: list[str] = []
    for index, segment in enumerate(segments):
        dots = segment.lower().replace("%2e", ".")  # WHATWG reads %2e as a dot here
        last = index == len(segments) - 1
        if dots == "..":
            path = path[:-1]
        if dots in (".", ".."):
            path += [""] if last else []
        else:
            path.append(segment)
    return len(path) > 1 and path[0] == ""
