"""The session cookie: reading it off a request, decrypting it as NextAuth / Auth.js do,
writing renewals and deletions in the app's own format.

The face of the package: :class:`SessionStage` (what the pipeline asks: which session does
this request carry, which ``Set-Cookie`` renews or removes it, is the app's own cookie
right), the :class:`Session` / :class:`SessionRead` it answers with, the cookie header helpers,
and the token codec for tools that mint or read tokens themselves (the demo, ``gateway
explain``). Inside: ``cookies`` (names, chunks, ``Set-Cookie`` strings), ``token`` (the JWE
token format of each flavor), ``cache`` (the bounded decode cache), ``jwe`` (the two content
encryptions on ``cryptography``'s primitives).
"""

from gateway.session.cache import DecodeCache
from gateway.session.cookies import (
    CHUNK_SIZE,
    SECURE_PREFIX,
    SessionCookie,
    delete_session,
    parse_cookie_header,
    set_session,
    without,
)
from gateway.session.stage import AppCookie, Session, SessionRead, SessionStage
from gateway.session.token import Decoded, InvalidToken, SessionCodec

__all__ = [
    "CHUNK_SIZE",
    "SECURE_PREFIX",
    "AppCookie",
    "DecodeCache",
    "Decoded",
    "InvalidToken",
    "Session",
    "SessionCodec",
    "SessionCookie",
    "SessionRead",
    "SessionStage",
    "delete_session",
    "parse_cookie_header",
    "set_session",
    "without",
]
