"""The app behind the proxies in the forward-auth tests: ``python echo_upstream.py PORT``
answers every request on 127.0.0.1:PORT with 200 and, as JSON, what it received (method,
path and every header, in order), so a test can read what the proxy forwarded.

``/api/auth/session`` also behaves as NextAuth's does: a valid session cookie (the secret is
``NEXTAUTH_SECRET``) is re-issued on the answer with a fresh ``iat``, ``exp`` and ``jti``,
every other claim kept, so a test can see whether the gateway held that ``iat`` back."""

from __future__ import annotations

import os
import sys
import time

from aiohttp import web

from gateway.session import InvalidToken, SessionCodec

COOKIE = "next-auth.session-token"
TOKEN_LIFETIME = 30 * 86400  # NextAuth's default maxAge


async def echo(request: web.Request) -> web.Response:
    headers = [[name, value] for name, value in request.headers.items()]
    response = web.json_response(
        {"method": request.method, "path": request.raw_path, "headers": headers}
    )
    if request.path == "/api/auth/session":
        reissue(request, response)
    return response


def reissue(request: web.Request, response: web.Response) -> None:
    token = request.cookies.get(COOKIE)
    if token is None:
        return
    codec = SessionCodec("nextauth-v4", (os.environ["NEXTAUTH_SECRET"],))
    try:
        claims = codec.decode(token, COOKIE).claims
    except InvalidToken:
        return
    now = int(time.time())
    fresh = codec.encode(claims, COOKIE, now=now, max_age=TOKEN_LIFETIME)
    expires = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + TOKEN_LIFETIME))
    response.headers.add(
        "Set-Cookie", f"{COOKIE}={fresh}; Path=/; Expires={expires}; HttpOnly; SameSite=Lax"
    )


def main(port: int) -> None:
    # A three-chunk session cookie is ~12 KB in one Cookie line; Node (the real apps)
    # accepts 16 KB of headers, so must this stand-in.
    app = web.Application(handler_args={"max_field_size": 32768, "max_line_size": 32768})
    app.router.add_route("*", "/{tail:.*}", echo)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))
