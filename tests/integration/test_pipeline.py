"""Every decision (allowed, refreshed, public, unauthenticated, invalid, expired, forbidden, no
route) and the response it gets (proxied with identity headers, renewed, a 302 to the login
page or a 401, the cookie deleted, 403, 404, 502, 504), through a real gateway and upstream."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from prometheus_client import generate_latest

from tests.support import T0, free_port
from tests.support.harness import OLD_SECRET, SECRET, Harness, MakeHarness

COOKIE = "next-auth.session-token"
NAV = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
API = {"Accept": "application/json"}
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
ALICE = {"sub": "user-alice", "email": "alice@example.com", "role": "admin"}


def set_cookies(response: object) -> dict[str, SimpleCookie]:
    cookies = {}
    for header in response.headers.getall("Set-Cookie", ()):  # type: ignore[attr-defined]
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name in jar:
            cookies[name] = jar
    return cookies


async def test_no_cookie_navigation_redirects_to_login_with_callback(gw: Harness) -> None:
    response = await gw.client.get("/reports?q=1", headers=NAV, allow_redirects=False)
    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["callbackUrl"] == ["/reports?q=1"]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert gw.recorder.requests == []


@pytest.mark.parametrize(
    "headers",
    [API, {"Accept": "*/*"}, {**NAV, "X-Requested-With": "x"}],
    ids=["json", "star", "xhr"],
)
async def test_no_cookie_non_navigation_gets_401_json(gw: Harness, headers: dict[str, str]) -> None:
    response = await gw.client.get("/reports", headers=headers, allow_redirects=False)
    assert response.status == 401
    assert await response.json() == {"error": "unauthenticated"}
    assert response.headers["WWW-Authenticate"] == (
        'Session realm="gateway", error="unauthenticated"'
    )


async def test_route_with_unauthenticated_401_never_redirects(gw: Harness) -> None:
    response = await gw.client.get("/api/things", headers=NAV, allow_redirects=False)
    assert response.status == 401


@pytest.mark.parametrize(
    "value", ["garbage", "a.b.c.d.e", ""], ids=["garbage", "five-parts", "empty"]
)
async def test_invalid_cookie_redirects_and_deletes_it(gw: Harness, value: str) -> None:
    response = await gw.client.get(
        "/", headers={**NAV, "Cookie": f"{COOKIE}={value}"}, allow_redirects=False
    )
    assert response.status == 302
    deleted = set_cookies(response)[COOKIE][COOKIE]
    assert deleted.value == "" and deleted["max-age"] == "0"
    api = await gw.client.get("/x", headers={**API, "Cookie": f"{COOKIE}={value}"})
    assert (await api.json()) == {"error": "invalid_session"}


async def test_token_without_sub_is_invalid(gw: Harness) -> None:
    token = gw.token({"csrfToken": "abc"})
    response = await gw.client.get("/x", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 401
    assert await response.json() == {"error": "invalid_session"}


@pytest.mark.parametrize(
    ("claims", "age", "max_age"),
    [
        (BOB, 86401, 30 * 86400),  # idle: now - iat > max_age (1d)
        (BOB, 3600, 60),  # exp passed by more than the skew
        ({**ALICE, "auth_time": T0 - 13 * 3600}, 60, 86400),  # hard cap: 12h since sign-in
    ],
    ids=["idle", "exp", "absolute"],
)
async def test_expired_sessions(
    gw: Harness, claims: dict[str, object], age: int, max_age: int
) -> None:
    token = gw.token(claims, iat=T0 - age, max_age=max_age)
    response = await gw.client.get("/x", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 401
    assert await response.json() == {"error": "session_expired"}
    assert set_cookies(response)[COOKIE][COOKIE]["max-age"] == "0"


async def test_exp_within_clock_skew_is_still_valid(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 100, max_age=90)  # exp = now - 10, skew is 15
    response = await gw.client.get("/x", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 200


async def test_forbidden_role(gw: Harness) -> None:
    token = gw.token(BOB)
    nav = await gw.client.get("/admin/users", headers={**NAV, "Cookie": f"{COOKIE}={token}"})
    assert nav.status == 403 and "text/html" in nav.headers["Content-Type"]
    api = await gw.client.get("/Admin", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert api.status == 403 and await api.json() == {"error": "forbidden"}
    assert gw.recorder.requests == []


async def test_allowed_passes_identity_and_strips_spoofed_copies(gw: Harness) -> None:
    token = gw.token({**ALICE, "auth_time": T0 - 60}, iat=T0 - 60)
    response = await gw.client.get(
        "/admin/x",
        headers={
            "Cookie": f"{COOKIE}={token}",
            "X-Auth-Request-User": "mallory",
            "X_Auth_Request_Email": "mallory@evil",
            "x-auth-request-role": "admin",
        },
    )
    assert response.status == 200
    assert "Set-Cookie" not in response.headers
    seen = gw.recorder.last.headers
    assert seen.getall("X-Auth-Request-User") == ["user-alice"]
    assert seen.getall("X-Auth-Request-Email") == ["alice@example.com"]
    assert "X_Auth_Request_Email" not in seen


async def test_due_session_is_renewed_in_the_apps_format(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 6 * 3600)  # update_age for general is 6h
    response = await gw.client.get("/", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 200
    header = response.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Expires=" in header and "Max-Age" not in header and "Secure" not in header
    renewed = set_cookies(response)[COOKIE][COOKIE].value
    claims = gw.decode(renewed)
    assert claims["iat"] == T0 and claims["exp"] == T0 + 86400
    assert claims["sub"] == "user-bob" and claims["auth_time"] == T0 - 6 * 3600
    assert response.headers["Cache-Control"] == "private, no-store"
    # The upstream already sees the renewed cookie.
    assert f"{COOKIE}={renewed}" in gw.recorder.last.headers["Cookie"]


async def test_not_yet_due_session_is_not_renewed(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 6 * 3600 + 1)
    response = await gw.client.get("/", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 200 and "Set-Cookie" not in response.headers


async def test_renewal_secure_when_a_trusted_proxy_says_https(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 7 * 3600)
    response = await gw.client.get(
        "/", headers={"Cookie": f"{COOKIE}={token}", "X-Forwarded-Proto": "https"}
    )
    assert "Secure" not in response.headers["Set-Cookie"]  # the test client is not trusted


async def test_absolute_policy_adds_auth_time_on_first_sight(gw: Harness) -> None:
    token = gw.token(ALICE, iat=T0 - 60)
    response = await gw.client.get("/", headers={"Cookie": f"{COOKIE}={token}"})
    claims = gw.decode(set_cookies(response)[COOKIE][COOKIE].value)
    assert claims["auth_time"] == T0 - 60
    assert claims["exp"] == T0 + 7200


async def test_expired_session_is_removed_even_on_public_routes(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 2 * 86400, max_age=30 * 86400)
    response = await gw.client.get(
        "/api/auth/session", headers={"Cookie": f"other=1; {COOKIE}={token}"}
    )
    assert response.status == 200
    assert gw.recorder.last.headers["Cookie"] == "other=1"
    assert set_cookies(response)[COOKIE][COOKIE]["max-age"] == "0"


async def test_public_route_without_cookie_passes(gw: Harness) -> None:
    response = await gw.client.get("/login", headers=NAV)
    assert response.status == 200
    assert "Cookie" not in gw.recorder.last.headers


async def test_the_apps_own_session_cookie_wins_and_keeps_auth_time(gw: Harness) -> None:
    token = gw.token({**ALICE, "auth_time": T0 - 3 * 3600}, iat=T0 - 2 * 3600 + 5)
    app_token = gw.token(ALICE, iat=T0)  # the app re-issued and dropped auth_time
    gw.recorder.set_cookies = [f"{COOKIE}={app_token}; Path=/; HttpOnly; SameSite=Lax"]
    response = await gw.client.get("/api/auth/session", headers={"Cookie": f"{COOKIE}={token}"})
    cookies = response.headers.getall("Set-Cookie")
    assert len(cookies) == 1
    claims = gw.decode(set_cookies(response)[COOKIE][COOKIE].value)
    assert claims["auth_time"] == T0 - 3 * 3600


async def test_old_secret_session_is_renewed_with_the_new_one(harness_factory: MakeHarness) -> None:
    gw = await harness_factory(flavor="authjs-v5", secrets=(SECRET, OLD_SECRET))
    name = "authjs.session-token"
    token = gw.token(BOB, iat=T0 - 60, secret=1)
    response = await gw.client.get("/", headers={"Cookie": f"{name}={token}"})
    assert response.status == 200
    renewed = set_cookies(response)[name][name].value
    assert gw.decode(renewed)["sub"] == "user-bob"
    only_new = await harness_factory(flavor="authjs-v5", secrets=(SECRET,))
    assert only_new.decode(renewed)["sub"] == "user-bob"


async def test_no_route_is_404(harness_factory: MakeHarness) -> None:
    gw = await harness_factory(routes=["name: login, path: /login, public: true"])
    api = await gw.client.get("/elsewhere", headers=API)
    assert api.status == 404 and await api.json() == {"error": "not_found"}
    nav = await gw.client.get("/elsewhere", headers=NAV)
    assert nav.status == 404 and "text/html" in nav.headers["Content-Type"]
    assert nav.headers["Cache-Control"] == "private, no-store"


async def test_cors_preflight_passes_without_cookie(gw: Harness) -> None:
    response = await gw.client.options(
        "/api/things",
        headers={"Origin": "https://other.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status == 200
    assert gw.recorder.last.method == "OPTIONS"


async def test_websocket_after_session_check(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 60)
    async with gw.client.ws_connect("/ws", headers={"Cookie": f"{COOKIE}={token}"}) as ws:
        await ws.send_str("hello")
        assert await ws.receive_str() == "hello"
    assert gw.recorder.last.headers["X-Auth-Request-User"] == "user-bob"


async def test_websocket_without_session_is_refused(gw: Harness) -> None:
    response = await gw.client.get(
        "/ws",
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 401
    assert gw.recorder.requests == []


async def test_session_endpoint_reports_without_renewing(gw: Harness) -> None:
    token = gw.token({**ALICE, "auth_time": T0 - 600}, iat=T0 - 3700)  # due for renewal
    response = await gw.client.get("/_gateway/session", headers={"Cookie": f"{COOKIE}={token}"})
    assert response.status == 200 and "Set-Cookie" not in response.headers
    assert await response.json() == {
        "subject": "user-alice",
        "roles": ["admin"],
        "policy": "admin",
        "expires_at": T0 - 3700 + 7200,
        "renews_at": T0 - 3700 + 3600,
        "auth_time": T0 - 600,
        "sid": None,  # nothing in this config needs one
    }
    assert response.headers["Cache-Control"] == "private, no-store"
    assert token not in await response.text()
    assert gw.recorder.requests == []


@pytest.mark.parametrize("path", ["/_gateway/session", "/_Gateway/other", "/_gateway"])
async def test_gateway_prefix_is_never_proxied(gw: Harness, path: str) -> None:
    response = await gw.client.get(path, headers=API)
    assert response.status in (401, 404)
    assert gw.recorder.requests == []


async def test_upstream_refusing_is_502(harness_factory: MakeHarness) -> None:
    gw = await harness_factory(
        routes=[f"name: dead, path: /, upstream: http://127.0.0.1:{free_port()}"]
    )
    token = gw.token(BOB, iat=T0 - 60)
    response = await gw.client.get("/", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 502
    assert await response.json() == {"error": "upstream_unavailable"}
    text = generate_latest(gw.registry).decode()
    assert 'gateway_upstream_errors_total{reason="connect",upstream="127.0.0.1:' in text


async def test_upstream_too_slow_is_504(harness_factory: MakeHarness) -> None:
    gw = await harness_factory(extra="timeouts: {upstream: 1s}")
    token = gw.token(BOB, iat=T0 - 60)
    response = await gw.client.get("/stall", headers={**NAV, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 504 and "text/html" in response.headers["Content-Type"]


async def test_another_users_fresh_sign_in_is_not_given_the_old_auth_time(gw: Harness) -> None:
    token = gw.token({**ALICE, "auth_time": T0 - 3 * 3600}, iat=T0 - 60)
    app_token = gw.token(BOB, iat=T0)
    gw.recorder.set_cookies = [f"{COOKIE}={app_token}; Path=/; HttpOnly; SameSite=Lax"]
    response = await gw.client.get(
        "/api/auth/callback/credentials", headers={"Cookie": f"{COOKIE}={token}"}
    )
    assert response.headers.getall("Set-Cookie") == gw.recorder.set_cookies


async def test_the_apps_sign_out_wins_over_a_due_renewal(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 7 * 3600)
    gw.recorder.set_cookies = [f"{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"]
    response = await gw.client.post("/api/auth/signout", headers={"Cookie": f"{COOKIE}={token}"})
    assert response.headers.getall("Set-Cookie") == gw.recorder.set_cookies


@pytest.mark.parametrize(("preserve", "expected"), [("true", "app.example.com"), ("false", None)])
async def test_host_header(
    harness_factory: MakeHarness, preserve: str, expected: str | None
) -> None:
    gw = await harness_factory(extra=f"preserve_host: {preserve}")
    token = gw.token(BOB, iat=T0 - 60)
    await gw.client.get("/", headers={"Cookie": f"{COOKIE}={token}", "Host": "app.example.com"})
    upstream = gw.config.upstream.label
    assert gw.recorder.last.headers["Host"] == (expected or upstream)
    assert gw.recorder.last.headers["X-Forwarded-Host"] == "app.example.com"
    assert gw.recorder.last.headers["X-Forwarded-For"] == "127.0.0.1"
    assert gw.recorder.last.headers["X-Forwarded-Proto"] == "http"
