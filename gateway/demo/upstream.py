"""The demo upstream: a home page that shows what the gateway forwarded, an admin page, a
polling page, a billing page that wants a recent sign-in, an API route, a login page, and
NextAuth's own endpoints (:mod:`gateway.demo.nextauth`) minting real session cookies."""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from aiohttp import web

from gateway.config import GatewayConfig, format_duration
from gateway.demo.nextauth import (
    DEMO_CLOCK,
    DEMO_CONFIG,
    SIGN_IN_PATH,
    USERS,
    add_routes,
    now_of,
    session_claims,
)
from gateway.demo.watch import watch_body
from gateway.policy import number
from gateway.redirects import callback_target

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem}"
    "button{font-size:1rem;margin:.3rem;padding:.5rem 1rem}"
)


def build_demo_app(
    config: GatewayConfig, clock: Callable[[], float] = time.time
) -> web.Application:
    """The demo app for ``config`` (its cookie and secret); ``clock`` its idea of now."""
    app = web.Application()
    app[DEMO_CONFIG] = config
    app[DEMO_CLOCK] = clock
    add_routes(app)
    app.router.add_get("/login", login_page)
    app.router.add_get("/api/whoami", whoami)
    app.router.add_get("/admin/watch", watch_page)
    app.router.add_get("/admin/{tail:.*}", admin_page)
    app.router.add_get("/admin", admin_page)
    app.router.add_get("/billing", billing_page)
    app.router.add_get("/billing/{tail:.*}", billing_page)
    app.router.add_get("/{tail:.*}", home)
    return app


def page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}"
        "</body></html>"
    )
    return web.Response(text=text, content_type="text/html", status=status)


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
        f"<form method=post action={SIGN_IN_PATH}><input type=hidden name=callbackUrl "
        f'value="{callback}">{buttons}</form><p>Demo only: anyone may pick any user.</p>'
    )
    return page("Sign in", form)


async def home(request: web.Request) -> web.Response:
    body = (
        f"<p>You are signed in. The gateway forwarded these identity headers:</p>"
        f"{identity_table(request)}<p><a href=/admin/>Admin page</a> · "
        f"<a href=/admin/watch>A polling tab</a> · <a href=/billing>Billing</a> · "
        f"<a href=/api/whoami>API</a> · <a href=/api/auth/signout>Sign out</a></p>"
    )
    return page("Demo app", body)


async def admin_page(request: web.Request) -> web.Response:
    return page("Admin", f"<p>Only admins see this.</p>{identity_table(request)}")


async def whoami(request: web.Request) -> web.Response:
    return web.json_response(
        {k: v for k, v in request.headers.items() if k.lower().startswith("x-auth-request")}
    )


async def watch_page(request: web.Request) -> web.Response:
    config = request.app[DEMO_CONFIG]
    return page("A polling tab", watch_body(config.policy("admin").max_age))


async def billing_page(request: web.Request) -> web.Response:
    """What the app knows of the sign-in: the ``auth_time`` the gateway stamped into its
    cookie (the app never wrote one)."""
    signed_in = number((session_claims(request) or {}).get("auth_time"))
    when = (
        "at an unknown time" if signed_in is None else f"{now_of(request) - int(signed_in)} s ago"
    )
    routes = request.app[DEMO_CONFIG].routes
    window = next((r.max_auth_age for r in routes if r.max_auth_age is not None), None)
    need = "" if window is None else f", and this page wants one within {format_duration(window)}"
    body = (
        f"<p>Billing is sensitive. You signed in {when}{need}: come back later and the "
        "gateway sends you to sign in again, however active you have been.</p>"
        f"{identity_table(request)}<p><a href=/>Home</a></p>"
    )
    return page("Billing", body)
