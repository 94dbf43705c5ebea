"""Passive routes through a real gateway and upstream: a tab polling the app's session endpoint
never renews the session, and the app's re-issue keeps the request's iat (exp capped, every
other claim as the app wrote it, Expires matching), counted in gateway_passive_reissues_total;
the same re-issue on an active route moves the idle clock as before; sign-ins are stamped only
where a claim is needed; WebSockets on a passive route end with the session's own iat."""

from __future__ import annotations

import email.utils
from http.cookies import SimpleCookie
from typing import Any

from aiohttp import WSMsgType
from prometheus_client import generate_latest

from tests.support import T0
from tests.support.harness import ROUTES, Harness, MakeHarness

COOKIE = "next-auth.session-token"
API = {"Accept": "application/json"}
ALICE = {"sub": "user-alice", "email": "alice@example.com", "role": "admin"}
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
PASSIVE_ROUTES = (
    "name: session, path: /api/auth/session, public: true, activity: false",
    "name: feed,    path: /feed,             activity: false",
    *ROUTES,
)


async def passive(harness_factory: MakeHarness, extra: str = "") -> Harness:
    return await harness_factory(routes=PASSIVE_ROUTES, extra=extra)


def app_set_cookie(gw: Harness, claims: dict[str, Any], iat: float, max_age: int) -> str:
    """A Set-Cookie as NextAuth writes it on a re-issue (fresh iat, exp and jti)."""
    token = gw.token(claims, iat=iat, max_age=max_age)
    expires = email.utils.formatdate(iat + max_age, usegmt=True)
    return f"{COOKIE}={token}; Path=/; Expires={expires}; HttpOnly; SameSite=Lax"


def browser_cookie(response: object) -> tuple[str, str]:
    """The session value and Expires the browser keeps from the response."""
    headers = response.headers.getall("Set-Cookie")  # type: ignore[attr-defined]
    [header] = [h for h in headers if h.startswith(COOKIE + "=")]
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    return jar[COOKIE].value, jar[COOKIE]["expires"]


def passive_count(gw: Harness, policy: str) -> float:
    text = generate_latest(gw.registry).decode()
    series = f'gateway_passive_reissues_total{{policy="{policy}"}} '
    lines = [line for line in text.splitlines() if line.startswith(series)]
    return float(lines[0].split()[-1]) if lines else 0.0


async def test_a_poll_never_renews_a_due_session(harness_factory: MakeHarness) -> None:
    gw = await passive(harness_factory)
    token = gw.token(ALICE, iat=T0 - 3700)  # past update_age (1h), within max_age (2h)
    cookie = {"Cookie": f"{COOKIE}={token}", **API}
    polled = await gw.client.get("/api/auth/session", headers=cookie)
    assert polled.status == 200 and "Set-Cookie" not in polled.headers
    assert gw.recorder.last.headers["Cookie"] == f"{COOKIE}={token}"  # forwarded as it was
    active = await gw.client.get("/reports", headers=cookie)
    assert COOKIE + "=" in active.headers["Set-Cookie"]  # the next active request renews


async def test_the_apps_reissue_keeps_the_idle_clock(harness_factory: MakeHarness) -> None:
    gw = await passive(harness_factory)
    iat = T0 - 600
    token = gw.token({**ALICE, "auth_time": T0 - 900}, iat=iat)
    gw.recorder.set_cookies = [
        app_set_cookie(gw, {**ALICE, "auth_time": T0 - 900, "theme": "dark"}, T0, 30 * 86400)
    ]
    response = await gw.client.get("/api/auth/session", headers={"Cookie": f"{COOKIE}={token}"})
    value, expires = browser_cookie(response)
    claims = gw.decode(value)
    assert claims["iat"] == iat
    assert claims["exp"] == iat + 7200  # admin max_age, before the app's 30 days
    assert claims["auth_time"] == T0 - 900 and claims["theme"] == "dark"
    assert (
        claims["jti"] == gw.decode(gw.recorder.set_cookies[0].split("=", 1)[1].split(";")[0])["jti"]
    )
    assert email.utils.parsedate_to_datetime(expires).timestamp() == iat + 7200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert passive_count(gw, "admin") == 1


async def test_polling_ends_the_session_after_max_age(harness_factory: MakeHarness) -> None:
    """The bug this fixes: every poll re-issued the cookie, so an idle tab never expired."""
    gw = await passive(harness_factory)
    token = gw.token(ALICE, iat=T0)
    for _ in range(8):  # a poll every 15 minutes for two hours
        gw.clock.advance(900)
        gw.recorder.set_cookies = [app_set_cookie(gw, ALICE, gw.clock.now, 30 * 86400)]
        response = await gw.client.get("/api/auth/session", headers={"Cookie": f"{COOKIE}={token}"})
        if response.status == 200 and COOKIE + "=" in response.headers.get("Set-Cookie", ""):
            token = browser_cookie(response)[0]
    gw.clock.advance(1)
    gw.recorder.set_cookies = []
    page = await gw.client.get("/reports", headers={"Cookie": f"{COOKIE}={token}", **API})
    assert page.status == 401 and await page.json() == {"error": "session_expired"}


async def test_the_same_reissue_on_an_active_route_moves_the_clock(
    harness_factory: MakeHarness,
) -> None:
    gw = await passive(harness_factory)
    token = gw.token({**BOB, "auth_time": T0 - 900}, iat=T0 - 600)
    gw.recorder.set_cookies = [app_set_cookie(gw, {**BOB, "auth_time": T0 - 900}, T0, 86400)]
    response = await gw.client.get("/reports", headers={"Cookie": f"{COOKIE}={token}"})
    # The app kept auth_time: its cookie passes exactly as it wrote it.
    assert response.headers.getall("Set-Cookie") == gw.recorder.set_cookies
    assert passive_count(gw, "general") == 0


async def test_another_users_cookie_is_not_held_back(harness_factory: MakeHarness) -> None:
    gw = await passive(harness_factory)
    token = gw.token(BOB, iat=T0 - 600)
    gw.recorder.set_cookies = [app_set_cookie(gw, ALICE, T0, 86400)]
    response = await gw.client.get("/api/auth/session", headers={"Cookie": f"{COOKIE}={token}"})
    claims = gw.decode(browser_cookie(response)[0])
    assert claims["sub"] == "user-alice" and claims["iat"] == T0
    assert claims["auth_time"] == T0  # a sign-in: admin's hard cap needs it


async def test_a_cookie_our_secrets_cannot_open_passes(harness_factory: MakeHarness) -> None:
    gw = await passive(harness_factory)
    token = gw.token(BOB, iat=T0 - 600)
    gw.recorder.set_cookies = [f"{COOKIE}=not-a-jwe; Path=/; HttpOnly"]
    response = await gw.client.get("/api/auth/session", headers={"Cookie": f"{COOKIE}={token}"})
    assert response.headers.getall("Set-Cookie") == [f"{COOKIE}=not-a-jwe; Path=/; HttpOnly"]


async def test_a_sign_in_is_stamped_only_where_needed(harness_factory: MakeHarness) -> None:
    plain = await passive(harness_factory)
    plain.recorder.set_cookies = [app_set_cookie(plain, BOB, T0, 86400)]
    response = await plain.client.get("/api/auth/callback/credentials")
    assert response.headers.getall("Set-Cookie") == plain.recorder.set_cookies
    steps = await harness_factory(
        routes=("name: billing, path: /billing, max_auth_age: 15m", *PASSIVE_ROUTES)
    )
    old = steps.token({**BOB, "auth_time": T0 - 5000}, iat=T0 - 60)
    steps.recorder.set_cookies = [app_set_cookie(steps, {**BOB, "auth_time": T0 - 5000}, T0, 86400)]
    signed_in = await steps.client.get(
        "/api/auth/callback/credentials", headers={"Cookie": f"{COOKIE}={old}"}
    )
    assert steps.decode(browser_cookie(signed_in)[0])["auth_time"] == T0


async def test_a_websocket_on_a_passive_route_ends_with_the_sessions_iat(
    harness_factory: MakeHarness,
) -> None:
    """Opened on an active route, the due session is renewed and the socket lives on; on a
    passive one it is not, and the socket closes when the session's own idle window ends."""
    for activity, survives in (("true", True), ("false", False)):
        gw = await harness_factory(routes=(f"name: live, path: /ws, activity: {activity}", *ROUTES))
        token = gw.token(BOB, iat=T0 - 86000)  # general: max_age 1d, 400 s left, renewal due
        async with gw.client.ws_connect("/ws", headers={"Cookie": f"{COOKIE}={token}"}) as ws:
            gw.clock.advance(401)
            await ws.send_str("after")
            message = await ws.receive(timeout=10)
        if survives:
            assert (message.type, message.data) == (WSMsgType.TEXT, "after")
        else:
            assert (message.type, message.data) == (WSMsgType.CLOSE, 1008)
