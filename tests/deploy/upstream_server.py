"""A small upstream for the live deploy tests: ``python upstream_server.py PORT`` answers
every request on 127.0.0.1:PORT with 200 and a short JSON body. ``/api/auth/session`` also
re-issues a valid session cookie (the secret is ``NEXTAUTH_SECRET``) with a fresh ``iat``,
``exp`` and ``jti``, every other claim kept, as NextAuth's session endpoint does."""

from __future__ import annotations

import os
import sys
import time

from aiohttp import web

from gateway.session import InvalidToken, SessionCodec

COOKIE = "next-auth.session-token"
TOKEN_LIFETIME = 30 * 86400  # NextAuth's default maxAge


async def answer(request: web.Request) -> web.Response:
    response = web.json_response({"path": request.path})
    token = request.cookies.get(COOKIE)
    if request.path == "/api/auth/session" and token is not None:
        codec = SessionCodec("nextauth-v4", (os.environ["NEXTAUTH_SECRET"],))
        try:
            claims = codec.decode(token, COOKIE).claims
        except InvalidToken:
            return response
        fresh = codec.encode(claims, COOKIE, now=int(time.time()), max_age=TOKEN_LIFETIME)
        response.headers.add("Set-Cookie", f"{COOKIE}={fresh}; Path=/; HttpOnly; SameSite=Lax")
    return response


def main(port: int) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
