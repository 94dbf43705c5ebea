"""The demo app's auth endpoints, written the way NextAuth v4 behaves, so the gateway meets in
the demo what it meets in front of a real app:

- ``POST /api/auth/callback/credentials``: the sign-in. It writes a fresh session cookie (no
  ``auth_time``: NextAuth knows nothing of it) and sends the browser back to ``callbackUrl``;
- ``GET /api/auth/session``: what a ``SessionProvider`` polls. Like NextAuth, every call with a
  valid session re-issues the cookie with a fresh ``iat``, ``exp`` and ``jti``, every other
  claim kept; without one it answers ``{}``;
- ``/api/auth/signout``: the cookie deleted.

The app's clock is injectable so a test can move it together with the gateway's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from gateway.config import GatewayConfig
from gateway.redirects import callback_target
from gateway.session import (
    CHUNK_SIZE,
    InvalidToken,
    SessionCodec,
    delete_session,
    set_session,
)

DEMO_CONFIG = web.AppKey("demo_config", GatewayConfig)
DEMO_CLOCK: web.AppKey[Callable[[], float]] = web.AppKey("demo_clock")
USERS = {
    "alice": {
        "sub": "user-alice",
        "name": "Alice Admin",
        "email": "alice@example.com",
        "role": "admin",
    },
    "bob": {
        "sub": "user-bob",
        "name": "Bob General",
        "email": "bob@example.com",
        "role": "general",
    },
}
TOKEN_LIFETIME = 30 * 86400  # NextAuth's default jwt.maxAge: the gateway's policy is stricter
SIGN_IN_PATH = "/api/auth/callback/credentials"


def add_routes(app: web.Application) -> None:
    app.router.add_post(SIGN_IN_PATH, sign_in)
    app.router.add_get("/api/auth/session", session)
    app.router.add_route("*", "/api/auth/signout", signout)


def now_of(request: web.Request) -> int:
    return int(request.app[DEMO_CLOCK]())


def session_claims(request: web.Request) -> dict[str, Any] | None:
    """The claims of the session cookie the request carries (the bare name, or its chunks in
    order), or None when there is none or it does not decrypt."""
    settings = request.app[DEMO_CONFIG].session
    name, cookies = settings.cookie, request.cookies
    token = cookies.get(name)
    if token is None:
        chunks: list[str] = []
        while f"{name}.{len(chunks)}" in cookies:
            chunks.append(cookies[f"{name}.{len(chunks)}"])
        token = "".join(chunks) or None
    if token is None:
        return None
    try:
        return SessionCodec(settings.flavor, settings.secrets).decode(token, name).claims
    except InvalidToken:
        return None


def session_cookies(request: web.Request, claims: Mapping[str, Any]) -> tuple[list[str], int]:
    """The ``Set-Cookie`` lines writing ``claims`` with a fresh ``iat``, ``exp`` and ``jti``,
    as NextAuth's ``encode`` does, and that ``exp``."""
    settings = request.app[DEMO_CONFIG].session
    now = now_of(request)
    token = SessionCodec(settings.flavor, settings.secrets).encode(
        claims, settings.cookie, now=now, max_age=TOKEN_LIFETIME
    )
    present = [n for n in request.cookies if n.startswith(settings.cookie)]
    lines = set_session(
        settings.cookie,
        token,
        expires=now + TOKEN_LIFETIME,
        secure=False,
        domain=settings.cookie_domain,
        chunk_size=CHUNK_SIZE[settings.flavor],
        present=present,
    )
    return lines, now + TOKEN_LIFETIME


async def sign_in(request: web.Request) -> web.Response:
    form = await request.post()
    user = USERS.get(str(form.get("user", "")))
    if user is None:
        return web.Response(status=400, text="Unknown user.")
    location = callback_target(str(form.get("callbackUrl", "/")))
    response = web.Response(status=302, headers={"Location": location})
    for line in session_cookies(request, user)[0]:
        response.headers.add("Set-Cookie", line)
    return response


async def session(request: web.Request) -> web.Response:
    claims = session_claims(request)
    if claims is None:
        return web.json_response({}, headers={"Cache-Control": "no-store"})
    lines, exp = session_cookies(request, claims)  # iat, exp and jti written afresh
    user = {k: claims.get(k) for k in ("name", "email", "role")}
    expires = datetime.fromtimestamp(exp, UTC).isoformat(timespec="milliseconds")
    body = {"user": user, "expires": expires.replace("+00:00", "Z")}
    response = web.json_response(body, headers={"Cache-Control": "no-store"})
    for line in lines:
        response.headers.add("Set-Cookie", line)
    return response


async def signout(request: web.Request) -> web.Response:
    settings = request.app[DEMO_CONFIG].session
    response = web.Response(status=302, headers={"Location": "/login"})
    names = [n for n in request.cookies if n.startswith(settings.cookie)]
    for cookie in delete_session(names, secure=False, domain=settings.cookie_domain):
        response.headers.add("Set-Cookie", cookie)
    return response
