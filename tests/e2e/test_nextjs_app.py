"""issue 7: the gateway in front of a real Next.js + next-auth v4 app, in a real browser.

The app (examples/nextjs-app) knows nothing about the gateway; the browser only ever talks
to the gateway. Clock: real time with short policies (examples/e2e.yaml: admin update_age
3s, max_age 8s); every wait polls a condition against a deadline, none sleeps a fixed time.
Each step leaves a numbered screenshot in test-output/e2e/.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Response

from tests.e2e.browser import (
    Screens,
    callback_of,
    cookie_value,
    fetch,
    is_deletion,
    jar_session,
    put_back,
    session_set_cookies,
    show,
    sign_in,
    single_redirect,
    wait_until,
)
from tests.e2e.stack import Stack

# Sent with every request the browser makes: the app must only ever see the gateway's values.
FORGED = {
    "X-Auth-Request-User": "mallory",
    "X-Auth-Request-Role": "admin",
    "X-Auth-Request-Email": "mallory@evil.test",
}
SLACK = 10.0  # seconds a deadline allows beyond the policy's own duration


@dataclass
class Run:
    stack: Stack
    context: BrowserContext
    page: Page
    shots: Screens
    urls: list[str] = field(default_factory=list)  # every request the browser sent

    def url(self, path: str) -> str:
        return self.stack.url(path)


def test_gateway_in_front_of_nextjs_app(
    stack: Stack, browser_context: BrowserContext, output_dir: Path
) -> None:
    started = time.monotonic()
    run = Run(stack, browser_context, browser_context.new_page(), Screens(output_dir))
    browser_context.on("request", lambda request: run.urls.append(request.url))
    browser_context.set_extra_http_headers(FORGED)

    signed_out_admin_goes_to_login(run)
    general_returns_to_the_page_asked_for(run)
    general_gets_403_on_admin(run)
    signed_in = admin_sees_identity_headers(run)
    renewed_iat = navigation_after_update_age_renews(run, signed_in)
    app_reads_the_renewed_session(run, renewed_iat)
    expired = wait_for_expiry(run)
    fetch_after_expiry_gets_401_json(run, expired)
    navigation_after_expiry_goes_to_login(run, expired)
    app_sees_no_session_after_expiry(run, expired)
    metrics_counted_it(run)

    assert all(u.startswith(stack.origin + "/") for u in run.urls), "only the gateway's origin"
    assert len(run.shots.taken) == 9
    assert time.monotonic() - started < 90


def signed_out_admin_goes_to_login(run: Run) -> None:
    landed, hop = single_redirect(run.page.goto(run.url("/admin")))
    assert hop.status == 302
    assert callback_of(hop.headers["location"]) == "/admin"
    assert landed.status == 200 and urlsplit(run.page.url).path == "/login"
    assert run.page.text_content("#callback") == "/admin"
    run.shots.take(run.page, "signed-out-admin-to-login")


def general_returns_to_the_page_asked_for(run: Run) -> None:
    asked = run.url("/?tab=overview")
    run.page.goto(asked)
    assert callback_of(run.page.url) == "/?tab=overview"
    callback, landed = sign_in(run.page, "general", landing=asked)
    claims = run.stack.decode(cookie_value(session_set_cookies(callback)[-1]))
    assert (claims["sub"], claims["role"]) == ("general", "general")
    assert landed.status == 200 and run.page.url == asked
    assert run.page.text_content("#who") == "Signed in as general (general)"
    me = fetch(run.page, "/api/me")
    assert (me["status"], me["json"]["gatewayUser"]) == (200, "general")  # not the forged one
    run.shots.take(run.page, "general-back-on-home")


def general_gets_403_on_admin(run: Run) -> None:
    response = run.page.goto(run.url("/admin"))
    assert response is not None and response.status == 403
    assert response.headers["content-type"].startswith("text/html")
    assert run.page.url == run.url("/admin")
    run.shots.take(run.page, "general-forbidden-on-admin")


def admin_sees_identity_headers(run: Run) -> dict[str, Any]:
    """Signs in as admin; returns the claims of the cookie the app wrote (and we stamped)."""
    run.page.goto(run.url("/login?callbackUrl=%2Fadmin"))
    clicked = int(time.time())
    callback, landed = sign_in(run.page, "admin", landing=run.url("/admin"))
    claims = run.stack.decode(cookie_value(session_set_cookies(callback)[-1]))
    assert (claims["sub"], claims["role"]) == ("admin", "admin")
    # A route has max_auth_age, so the gateway stamps the sign-in time into the app's cookie.
    # A new sign-in over the general user's session: stamped now, nothing carried over.
    assert clicked <= claims["auth_time"] <= time.time()
    assert landed.status == 200
    shown = {
        name: run.page.text_content(f'td[data-header="{name}"]')
        for name in ("x-auth-request-user", "x-auth-request-email", "x-auth-request-role")
    }
    assert shown == {
        "x-auth-request-user": "admin",
        "x-auth-request-email": "admin@example.test",
        "x-auth-request-role": "admin",
    }
    run.shots.take(run.page, "admin-identity-headers")
    return claims


def navigation_after_update_age_renews(run: Run, signed_in: dict[str, Any]) -> int:
    """Reloads /admin until a response renews the cookie; returns the renewed ``iat``."""
    policy = run.stack.policy("admin")
    assert policy.update_age is not None
    before: list[int] = []

    def renewal() -> tuple[Response, str] | None:
        before.append(_jar_iat(run))
        response = run.page.goto(run.url("/admin"))
        assert response is not None and response.status == 200
        written = session_set_cookies(response)
        return (response, written[-1]) if written else None

    response, set_cookie = wait_until(
        renewal,
        within=policy.update_age + SLACK,
        what="a navigation to /admin renews the admin session",
    )
    claims = run.stack.decode(cookie_value(set_cookie))
    assert claims["sub"] == "admin" and before[0] == signed_in["iat"]
    assert claims["auth_time"] == signed_in["auth_time"]  # a renewal is not a sign-in
    assert claims["iat"] - before[-1] >= policy.update_age  # not renewed early
    assert claims["exp"] - claims["iat"] == policy.max_age
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Expires="):
        assert attribute in set_cookie
    assert response.headers["cache-control"] == "private, no-store"
    assert _jar_iat(run) == claims["iat"]  # the browser took it
    show(
        run.page,
        "Set-Cookie on this navigation (decoded)",
        {"previous iat": before[-1], "iat": claims["iat"], "exp": claims["exp"]},
    )
    run.shots.take(run.page, "admin-after-renewal")
    return int(claims["iat"])


def app_reads_the_renewed_session(run: Run, renewed_iat: int) -> None:
    with run.page.expect_response(lambda r: urlsplit(r.url).path == "/api/auth/session") as got:
        session = fetch(run.page, "/api/auth/session")  # next-auth's own route
    assert session["status"] == 200 and session["json"]["user"]["id"] == "admin"
    # The app decoded the cookie the gateway wrote at the renewal.
    assert session["json"]["issuedAt"] == renewed_iat
    # NextAuth re-issued it; the route is passive (activity: false), so the gateway kept the
    # renewal's iat and capped exp at the idle limit: reading the session is not activity.
    reissued = run.stack.decode(cookie_value(session_set_cookies(got.value)[-1]))
    max_age = run.stack.policy("admin").max_age
    assert (reissued["iat"], reissued["exp"]) == (renewed_iat, renewed_iat + max_age)
    me = fetch(run.page, "/api/me")
    assert me["status"] == 200 and me["json"]["session"]["user"]["role"] == "admin"
    show(run.page, "/api/auth/session (next-auth) after the renewal", session["json"])
    run.shots.take(run.page, "app-reads-renewed-session")


def wait_for_expiry(run: Run) -> dict[str, Any]:
    """Polls the gateway's non-renewing session endpoint until the idle limit has passed;
    returns the cookie the browser held then (its Expires may since have dropped it)."""
    policy = run.stack.policy("admin")
    cookie = jar_session(run.context)
    assert cookie is not None

    def expired() -> dict[str, Any] | None:
        answer = run.context.request.get(run.url("/_gateway/session"))
        return dict(answer.json()) if answer.status == 401 else None

    reason = wait_until(expired, within=policy.max_age + SLACK, what="the admin session expires")
    assert reason == {"error": "session_expired"}
    # The last cookie came from the passive re-issue, capped at the idle limit (next-auth
    # alone would have given it 30 days): the app's own exp ends it too.
    claims = run.stack.decode(cookie["value"])
    assert claims["exp"] == claims["iat"] + policy.max_age <= time.time()
    return cookie


def fetch_after_expiry_gets_401_json(run: Run, expired: dict[str, Any]) -> None:
    put_back(run.context, run.stack, expired)  # the browser may have dropped it at Expires
    answer = fetch(run.page, "/api/me")  # from the /admin page still open
    assert answer["status"] == 401 and answer["type"].startswith("application/json")
    assert answer["json"] == {"error": "session_expired"}
    assert 'error="session_expired"' in answer["challenge"]
    assert jar_session(run.context) is None  # the 401 deleted it
    show(
        run.page,
        "fetch('/api/me') after max_age",
        {k: answer[k] for k in ("status", "type", "challenge", "json")},
    )
    run.shots.take(run.page, "fetch-after-expiry-401")


def navigation_after_expiry_goes_to_login(run: Run, expired: dict[str, Any]) -> None:
    put_back(run.context, run.stack, expired)
    # One hop and a 200: no redirect loop.
    landed, hop = single_redirect(run.page.goto(run.url("/admin")))
    assert hop.status == 302 and callback_of(hop.headers["location"]) == "/admin"
    assert any(is_deletion(c) for c in session_set_cookies(hop))
    assert landed.status == 200 and urlsplit(run.page.url).path == "/login"
    assert jar_session(run.context) is None
    run.shots.take(run.page, "expired-admin-to-login")


def app_sees_no_session_after_expiry(run: Run, expired: dict[str, Any]) -> None:
    put_back(run.context, run.stack, expired)
    response = run.page.goto(run.url("/api/auth/session"))  # public: the gateway strips it
    assert response is not None and response.status == 200
    assert response.json() == {}
    assert any(is_deletion(c) for c in session_set_cookies(response))
    assert jar_session(run.context) is None
    run.shots.take(run.page, "app-sees-no-session")


def metrics_counted_it(run: Run) -> None:
    metric = run.stack.metric
    assert metric("gateway_session_refreshes_total", policy="admin") >= 1
    for kind in ("forbidden", "expired", "refreshed", "unauthenticated"):
        assert metric("gateway_auth_decisions_total", route="admin", decision=kind) >= 1, kind


def _jar_iat(run: Run) -> int:
    cookie = jar_session(run.context)
    assert cookie is not None
    return int(run.stack.decode(cookie["value"])["iat"])
