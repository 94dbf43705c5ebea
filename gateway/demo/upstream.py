"""The demo upstream: a home page that shows what the gateway forwarded, an admin page, an
API route, and a login page that mints a real NextAuth-format session cookie."""

from __future__ import annotations

import html
import time

from aiohttp import web

from gateway.config import GatewayConfig
from gateway.redirects import callback_target
from gateway.session import CHUNK_SIZE, SessionCodec, delete_session, set_session

DEMO_CONFIG = web.AppKey("demo_config", GatewayConfig)
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
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}"
    "button{font-size:1rem;margin:.3rem;padding:.5rem 1rem}"
)


def build_demo_app(config: GatewayConfig) -> web.Application:
    app = web.Application()
    app[DEMO_CONFIG] = config
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_route("*", "/api/auth/signout", signout)
    app.router.add_get("/api/whoami", whoami)
    app.router.add_get("/admin/{tail:.*}", admin_page)
    app.router.add_get("/admin", admin_page)
    app.router.add_get("/{tail:.*}", home)
    return app


def page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        "</body></html>"
    )
    return web.Response(text=text, content_type="text/html", status=status)


def redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def identity_table(request: web.Request) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in request.headers.items()
        if k.lower().startswith("x-auth-request")
    )
    return f"<table>{rows}</table>" if rows else "<p>No identity headers arrived.</p>"


async def login_page(request: web.Request) -> web.Response:
    callback = html.escape(callback_target(request.query.get("callbackUrl", "/")))
    buttons = "".join(
        f"<button name=user value={name}>{html.escape(user['name'])} ({user['role']})</button>"
        for name, user in USERS.items()
    )
    form = (
        f"<form method=post action=/login><input type=hidden name=callbackUrl "
        f'value="{callback}">{buttons}</form><p>Demo only: anyone may pick any user.</p>'
    )
    return page("Sign in", form)


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    user = USERS.get(str(form.get("user", "")))
    if user is None:
        return page("Sign in", "<p>Unknown user.</p>", status=400)
    config = request.app[DEMO_CONFIG]
    session = config.session
    now = int(time.time())
    token = SessionCodec(session.flavor, session.secrets).encode(
        user, session.cookie, now=now, max_age=TOKEN_LIFETIME
    )
    location = callback_target(str(form.get("callbackUrl", "/")))
    response = redirect(location)
    for cookie in set_session(
        session.cookie,
        token,
        expires=now + TOKEN_LIFETIME,
        secure=False,
        domain=session.cookie_domain,
        chunk_size=CHUNK_SIZE[session.flavor],
        present=(),
    ):
        response.headers.add("Set-Cookie", cookie)
    return response


async def signout(request: web.Request) -> web.Response:
    session = request.app[DEMO_CONFIG].session
    response = redirect("/login")
    names = [n for n in request.cookies if n.startswith(session.cookie)]
    for cookie in delete_session(names, secure=False, domain=session.cookie_domain):
        response.headers.add("Set-Cookie", cookie)
    return response


async def home(request: web.Request) -> web.Response:
    body = (
        f"<p>You are signed in. The gateway forwarded these identity headers:</p>"
        f"{identity_table(request)}<p><a href=/admin/>Admin page</a> · "
        f"<a href=/api/whoami>API</a> · <a href=/api/auth/signout>Sign out</a></p>"
    )
    return page("Demo app", body)


async def admin_page(request: web.Request) -> web.Response:
    return page("Admin", f"<p>Only admins see this.</p>{identity_table(request)}")


async def whoami(request: web.Request) -> web.Response:
    return web.json_response(
        {k: v for k, v in request.headers.items() if k.lower().startswith("x-auth-request")}
    )
