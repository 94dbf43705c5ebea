"""Step-up through a real gateway and upstream: a route with max_auth_age sends a browser whose
sign-in is too old to the login page with the session deleted (every chunk), answers anything
else 401 reauthentication_required with the cookie kept, lets the same user in once the app's
sign-in callback has stamped a fresh auth_time, and decides the same in forward-auth mode."""

from __future__ import annotations

import email.utils
from urllib.parse import parse_qs, urlsplit

from prometheus_client import generate_latest

from tests.support import T0
from tests.support.harness import ROUTES, Harness, MakeHarness

COOKIE = "next-auth.session-token"
NAV = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
API = {"Accept": "application/json"}
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
STEP_UP_ROUTES = (
    "name: billing, path: /billing, max_auth_age: 15m",
    "name: billing-api, path: /api/billing, max_auth_age: 15m, unauthenticated: 401",
    *ROUTES,
)
CHALLENGE = 'Session realm="gateway", error="insufficient_user_authentication", max_age=900'


async def stepping(harness_factory: MakeHarness, trusted: str = "10.255.255.0/24") -> Harness:
    return await harness_factory(routes=STEP_UP_ROUTES, trusted=trusted)


def deleted(response: object) -> list[str]:
    headers = response.headers.getall("Set-Cookie", ())  # type: ignore[attr-defined]
    return sorted(h.split("=", 1)[0] for h in headers if "Max-Age=0" in h)


async def test_an_old_sign_in_navigating_is_sent_to_sign_in_again(
    harness_factory: MakeHarness,
) -> None:
    gw = await stepping(harness_factory)
    token = gw.token({**BOB, "auth_time": T0 - 901}, iat=T0 - 60)
    response = await gw.client.get(
        "/billing/invoices?y=2027",
        headers={**NAV, "Cookie": f"{COOKIE}={token}"},
        allow_redirects=False,
    )
    assert response.status == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["callbackUrl"] == ["/billing/invoices?y=2027"]
    assert deleted(response) == [COOKIE]
    assert gw.recorder.requests == []


async def test_every_chunk_is_deleted(harness_factory: MakeHarness) -> None:
    gw = await stepping(harness_factory)
    token = gw.token({**BOB, "auth_time": T0 - 901, "pad": "x" * 5000}, iat=T0 - 60)
    chunks = [token[i : i + 3933] for i in range(0, len(token), 3933)]
    cookie = "; ".join(f"{COOKIE}.{i}={chunk}" for i, chunk in enumerate(chunks))
    response = await gw.client.get(
        "/billing", headers={**NAV, "Cookie": cookie}, allow_redirects=False
    )
    assert response.status == 302
    assert deleted(response) == [f"{COOKIE}.{i}" for i in range(len(chunks))]


async def test_a_background_call_gets_401_and_keeps_its_session(
    harness_factory: MakeHarness,
) -> None:
    gw = await stepping(harness_factory)
    token = gw.token({**BOB, "auth_time": T0 - 901}, iat=T0 - 60)
    for path, headers in (("/billing", API), ("/api/billing/x", NAV)):
        response = await gw.client.get(
            path, headers={**headers, "Cookie": f"{COOKIE}={token}"}, allow_redirects=False
        )
        assert response.status == 401, path
        assert await response.json() == {"error": "reauthentication_required", "max_auth_age": 900}
        assert response.headers["WWW-Authenticate"] == CHALLENGE
        assert "Set-Cookie" not in response.headers
    assert gw.recorder.requests == []


async def test_a_recent_sign_in_passes(harness_factory: MakeHarness) -> None:
    gw = await stepping(harness_factory)
    token = gw.token({**BOB, "auth_time": T0 - 900}, iat=T0 - 60)
    response = await gw.client.get("/billing", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 200
    assert gw.recorder.last.headers["X-Auth-Request-User"] == "user-bob"


async def test_signing_in_again_satisfies_the_step_up(harness_factory: MakeHarness) -> None:
    """The login page posts to the app's callback, which sets a new cookie: the gateway
    stamps it with a fresh auth_time even though the request still carried the old one."""
    gw = await stepping(harness_factory)
    old = gw.token({**BOB, "auth_time": T0 - 5000}, iat=T0 - 60)
    fresh = gw.token({**BOB, "auth_time": T0 - 5000}, iat=T0)  # the jwt callback kept it
    expires = email.utils.formatdate(T0 + 86400, usegmt=True)
    gw.recorder.set_cookies = [f"{COOKIE}={fresh}; Path=/; Expires={expires}; HttpOnly"]
    signed_in = await gw.client.post(
        "/api/auth/callback/credentials", headers={"Cookie": f"{COOKIE}={old}"}
    )
    [header] = signed_in.headers.getall("Set-Cookie")
    token = header.split("=", 1)[1].split(";", 1)[0]
    assert gw.decode(token)["auth_time"] == T0
    gw.recorder.set_cookies = []
    response = await gw.client.get("/billing", headers={**API, "Cookie": f"{COOKIE}={token}"})
    assert response.status == 200


async def test_a_session_without_auth_time_counts_from_iat(harness_factory: MakeHarness) -> None:
    gw = await stepping(harness_factory)
    old = gw.token(BOB, iat=T0 - 901)
    response = await gw.client.get("/billing", headers={**API, "Cookie": f"{COOKIE}={old}"})
    assert response.status == 401
    # Anywhere else it is renewed to record auth_time (a route needs it), from its iat.
    renewed = await gw.client.get("/reports", headers={**API, "Cookie": f"{COOKIE}={old}"})
    token = renewed.headers["Set-Cookie"].split("=", 1)[1].split(";", 1)[0]
    assert gw.decode(token)["auth_time"] == T0 - 901


async def test_step_up_is_a_decision_in_the_metrics(harness_factory: MakeHarness) -> None:
    gw = await stepping(harness_factory)
    token = gw.token({**BOB, "auth_time": T0 - 901}, iat=T0 - 60)
    await gw.client.get("/billing", headers={**API, "Cookie": f"{COOKIE}={token}"})
    text = generate_latest(gw.registry).decode()
    assert (
        'gateway_auth_decisions_total{decision="step_up",policy="general",route="billing"} 1.0'
        in text
    )


async def test_forward_auth_decides_the_same(harness_factory: MakeHarness) -> None:
    gw = await stepping(harness_factory, trusted="127.0.0.1/32")
    token = gw.token({**BOB, "auth_time": T0 - 901}, iat=T0 - 60)
    asked = {"X-Original-URI": "/billing", "Cookie": f"{COOKIE}={token}"}
    first = await gw.client.get("/_gateway/auth", headers={**asked, **NAV})
    assert first.status == 401
    assert first.headers["WWW-Authenticate"] == CHALLENGE
    assert urlsplit(first.headers["Location"]).path == "/login"  # nginx's redirect hint
    assert "Set-Cookie" not in first.headers
    again = await gw.client.get(
        "/_gateway/auth?redirect=true", headers={**asked, **NAV}, allow_redirects=False
    )
    assert again.status == 302 and deleted(again) == [COOKIE]
    assert again.headers["X-Gateway-Cookie-0"].startswith(COOKIE + "=;")
    fresh = gw.token({**BOB, "auth_time": T0 - 60}, iat=T0 - 60)
    allowed = await gw.client.get(
        "/_gateway/auth", headers={"X-Original-URI": "/billing", "Cookie": f"{COOKIE}={fresh}"}
    )
    assert allowed.status == 200 and allowed.headers["X-Auth-Request-User"] == "user-bob"
    assert gw.recorder.requests == []
