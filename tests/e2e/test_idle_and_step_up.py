"""issue 12: idle means idle, and a recent sign-in for a sensitive page, in a real browser.

The same stack as test_nextjs_app.py (examples/e2e.yaml: admin update_age 3s, max_age 8s;
/api/auth/session passive; /billing with max_auth_age 6s). Every wait polls a condition
against a deadline; the only pacing is the busy admin's rhythm of a page load every 2s, which
is what the test is about (a person at work), never a wait for something to happen.
Screenshots go to test-output/e2e/, named after the test (idle-NN-..., step-up-NN-...).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Request, Response

from tests.e2e.browser import (
    Screens,
    callback_of,
    cookie_value,
    fetch,
    is_deletion,
    jar_session,
    path_of,
    session_set_cookies,
    show,
    sign_in,
    single_redirect,
    wait_until,
)
from tests.e2e.stack import Stack

SLACK = 10.0  # seconds a deadline allows beyond the policy's own duration
PACE = 2.0  # seconds between two page loads of the busy admin: shorter than max_age (8s)
SESSION = "/api/auth/session"  # NextAuth's session endpoint, which the dashboard polls
SIGNED_OUT = "Your session has ended; sign in again."  # the login page, after SessionRequired


@dataclass
class PollingTab:
    """The idle admin: a dashboard whose SessionProvider polls every second, nobody at it.

    Records every request the tab sends, and decodes the cookie NextAuth re-issues on each
    poll as the answers arrive (while the page that made them is still open)."""

    stack: Stack
    context: BrowserContext
    page: Page
    requests: list[Request] = field(default_factory=list)
    answers: list[Response] = field(default_factory=list)  # polls not yet looked at
    reissued: list[dict[str, Any]] = field(default_factory=list)  # claims, one per poll
    deleted: int = 0  # polls whose answer deleted the cookie (the session had ended)

    def __post_init__(self) -> None:
        self.context.on("request", lambda request: self.requests.append(request))
        self.context.on("response", self._answered)

    def _answered(self, response: Response) -> None:
        if path_of(response.url) == SESSION:
            self.answers.append(response)

    def collect(self) -> None:
        answers, self.answers = self.answers, []
        for response in answers:
            for set_cookie in session_set_cookies(response):
                if is_deletion(set_cookie):
                    self.deleted += 1
                else:
                    self.reissued.append(self.stack.decode(cookie_value(set_cookie)))

    def on_login_page(self) -> bool:
        jar_session(self.context)  # a round trip: lets Playwright deliver the tab's events
        return path_of(self.page.url) == "/login"


# The busy admin's round: a nav link, and what the page it opens says about the session.
ROUND = [("/", "Signed in as admin (admin)"), ("/admin", "NextAuth session: admin")]


@dataclass
class BusyAdmin:
    """The admin at work: every PACE seconds a click on a nav link (Home, Admin, Home, ...),
    each a real page load the gateway counts as activity."""

    stack: Stack
    context: BrowserContext
    page: Page
    last: float = 0.0
    loads: list[Response] = field(default_factory=list)

    def tick(self) -> None:
        if time.monotonic() - self.last < PACE:
            return
        path, says = ROUND[len(self.loads) % len(ROUND)]
        with self.page.expect_navigation(url=self.stack.url(path)) as navigation:
            self.page.click(f"nav a[href='{path}']")
        self.last = time.monotonic()
        response = navigation.value
        assert response is not None and response.status == 200, f"the busy admin opens {path}"
        assert self.page.text_content("#who") == says
        self.loads.append(response)


def test_idle_polling_admin_signed_out_busy_admin_stays(
    stack: Stack, launch: Callable[[str], BrowserContext], output_dir: Path
) -> None:
    """Two admins, same policy, same minute: one leaves a polling dashboard open and is
    signed out once max_age has passed; the other keeps loading pages and stays signed in
    past it. The polls reach the app (which re-issues the cookie each time) but never move
    the idle clock: the gateway holds back each re-issue's iat and counts it."""
    policy = stack.policy("admin")
    # The longest a busy session goes unrenewed is update_age plus one pace.
    assert policy.update_age is not None and policy.update_age + PACE < policy.max_age
    shots = Screens(output_dir, prefix="idle")
    held_back_before = stack.metric("gateway_passive_reissues_total", policy="admin")

    idle_context = launch("idle-admin")
    tab = PollingTab(stack, idle_context, idle_context.new_page())
    tab.page.goto(stack.url("/login?callbackUrl=%2Fadmin%2Fwatch"))
    sign_in(tab.page, "admin", landing=stack.url("/admin/watch"))
    tab.page.wait_for_selector("#status[data-status=authenticated]")
    held = jar_session(idle_context)
    assert held is not None
    # The idle clock starts at the last request that counted as activity: the page load.
    last_active = int(stack.decode(held["value"])["iat"])
    quiet_from = len(tab.requests)  # from here on the tab's own scripts alone send requests

    busy_context = launch("busy-admin")
    busy = BusyAdmin(stack, busy_context, busy_context.new_page())
    busy.page.goto(stack.url("/login?callbackUrl=%2Fadmin"))
    callback, _ = sign_in(busy.page, "admin", landing=stack.url("/admin"))
    busy_signed_in = stack.decode(cookie_value(session_set_cookies(callback)[-1]))
    busy.last = time.monotonic()

    def polled_a_few() -> bool | None:
        busy.tick()
        tab.collect()
        return True if len(tab.reissued) >= 3 else None

    wait_until(polled_a_few, within=SLACK, what="the dashboard polls and the app re-issues")
    # The app itself decoded the held-back cookie: its iat is still the page load's.
    clock = tab.page.locator("#idle-clock")
    assert clock.get_attribute("data-iat") == str(last_active)
    assert int(clock.get_attribute("data-polls") or 0) >= 2
    shots.take(tab.page, "dashboard-polling")
    shots.take(busy.page, "busy-admin-at-work")

    def idle_out_busy_past_max_age() -> bool | None:
        busy.tick()
        tab.collect()
        past = time.time() > busy_signed_in["iat"] + policy.max_age + PACE
        return True if tab.on_login_page() and past else None

    wait_until(
        idle_out_busy_past_max_age,
        within=policy.max_age + SLACK,
        what="the idle admin's tab reaches the login page, the busy admin passes max_age",
    )
    tab.collect()

    left_at = idle_tab_ended_on_the_login_page(tab, last_active, quiet_from)
    every_poll_kept_the_idle_clock(tab, last_active, policy.max_age, left_at)
    shots.take(tab.page, "idle-admin-signed-out")
    busy_admin_still_signed_in(busy, busy_signed_in, policy.max_age)
    shots.take(busy.page, "busy-admin-still-signed-in")

    held_back = stack.metric("gateway_passive_reissues_total", policy="admin")
    # Each re-issue whose iat the app had moved is counted (the first, in the same second
    # as the page load, may not have moved it); nothing else in this test is passive.
    assert 1 <= held_back - held_back_before <= len(tab.reissued)
    assert all(r.url.startswith(stack.origin + "/") for r in tab.requests), "only the gateway"
    assert len(shots.taken) == 4


def idle_tab_ended_on_the_login_page(tab: PollingTab, last_active: int, quiet_from: int) -> float:
    """Checks the tab's way out; returns when it started (unix seconds, the browser's clock)."""
    max_age = tab.stack.policy("admin").max_age
    tab.page.wait_for_selector("#error")
    assert tab.page.text_content("#error") == SIGNED_OUT
    assert path_of(tab.page.text_content("#callback") or "") == "/admin/watch"
    assert jar_session(tab.context) is None
    # The tab left by itself: useSession({required: true}) went to next-auth's sign-in route.
    left = [r for r in tab.requests[quiet_from:] if path_of(r.url) != SESSION]
    assert left and path_of(left[0].url) == "/api/auth/signin"
    # Until then it sent nothing but polls: nothing a person did kept it alive.
    polls = tab.requests[quiet_from : tab.requests.index(left[0])]
    assert len(polls) >= 3 and all((path_of(r.url), r.method) == (SESSION, "GET") for r in polls)
    # Not a moment early, and promptly (a poll a second): the browser's own clock of when
    # the way out started, not when Playwright told us.
    left_at = left[0].timing["startTime"] / 1000
    assert last_active + max_age <= left_at <= last_active + max_age + 5
    return left_at


def every_poll_kept_the_idle_clock(
    tab: PollingTab, last_active: int, max_age: int, left_at: float
) -> None:
    """NextAuth re-issued the cookie on each poll; the gateway gave every one the iat of the
    last real activity and an exp no later than the idle limit from there."""
    assert tab.reissued, "the app re-issued the cookie on the polls"
    for claims in tab.reissued:
        assert claims["sub"] == "admin"
        assert claims["iat"] == last_active
        assert claims["exp"] <= last_active + max_age
    show(
        tab.page,
        "What the dashboard's polls did (decoded, no cookie values)",
        {
            "polls re-issued by the app": len(tab.reissued),
            "iat of every re-issue": sorted({c["iat"] for c in tab.reissued}),
            "last activity (page load)": last_active,
            "sent to sign in at": int(left_at),
        },
    )


def busy_admin_still_signed_in(busy: BusyAdmin, signed_in: dict[str, Any], max_age: int) -> None:
    answer = busy.context.request.get(busy.stack.url("/_gateway/session"))
    assert answer.status == 200
    session = answer.json()
    assert (session["subject"], session["policy"]) == ("admin", "admin")
    # The same sign-in, kept alive by the page loads: never signed in again.
    assert session["auth_time"] == signed_in["auth_time"]
    assert time.time() - signed_in["iat"] > max_age
    held = jar_session(busy.context)
    assert held is not None
    renewed = busy.stack.decode(held["value"])
    assert renewed["iat"] > signed_in["iat"]  # the gateway renewed it along the way
    renewals = [r for r in busy.loads if session_set_cookies(r)]
    # Past max_age only through a renewal; a load every PACE seconds for max_age + PACE.
    assert len(renewals) >= 1 and len(busy.loads) >= 3
    show(
        busy.page,
        "The busy admin, past max_age (from the gateway's /_gateway/session)",
        {
            "page loads": len(busy.loads),
            "renewals": len(renewals),
            "auth_time": session["auth_time"],
            "signed in for (s)": int(time.time()) - int(signed_in["auth_time"]),
            "max_age (s)": max_age,
        },
    )


def test_billing_asks_for_a_recent_sign_in(
    stack: Stack, browser_context: BrowserContext, output_dir: Path
) -> None:
    """/billing (max_auth_age) lets a fresh sign-in in; once the sign-in is older than that,
    a background call gets a 401 it can act on (the session kept), a page load goes to the
    login page (the session deleted), and after signing in again /billing opens."""
    route = next(r for r in stack.config.routes if r.name == "billing")
    limit = route.max_auth_age
    assert limit is not None and limit < stack.policy("admin").max_age
    shots = Screens(output_dir, prefix="step-up")

    def step_ups() -> float:
        return stack.metric("gateway_auth_decisions_total", route="billing", decision="step_up")

    step_ups_before = step_ups()
    page = browser_context.new_page()

    landed, hop = single_redirect(page.goto(stack.url("/billing")))
    assert hop.status == 302 and callback_of(hop.headers["location"]) == "/billing"
    first = billing_after_sign_in(stack, page, started=int(time.time()))
    shots.take(page, "fresh-sign-in-opens-billing")

    def too_old() -> dict[str, Any] | None:
        answer = browser_context.request.get(stack.url("/_gateway/session"))
        assert answer.status == 200, "the session itself stays valid all along"
        session: dict[str, Any] = answer.json()
        return session if time.time() - session["auth_time"] > limit else None

    session = wait_until(too_old, within=limit + SLACK, what="the sign-in is older than /billing")
    assert (session["subject"], session["auth_time"]) == ("general", first["auth_time"])

    home = page.goto(stack.url("/"))  # other pages do not care how old the sign-in is
    assert home is not None and home.status == 200
    assert page.text_content("#who") == "Signed in as general (general)"

    answer = fetch(page, "/billing")  # a script's call: nowhere to redirect it
    assert answer["status"] == 401 and answer["type"].startswith("application/json")
    assert answer["json"] == {"error": "reauthentication_required", "max_auth_age": limit}
    assert 'error="insufficient_user_authentication"' in answer["challenge"]
    assert f"max_age={limit}" in answer["challenge"]
    assert jar_session(browser_context) is not None  # a background call signs nobody out
    show(
        page,
        "fetch('/billing') with a sign-in older than max_auth_age",
        {k: answer[k] for k in ("status", "challenge", "json")},
    )
    shots.take(page, "fetch-billing-401")

    landed, hop = single_redirect(page.goto(stack.url("/billing")))
    assert hop.status == 302 and callback_of(hop.headers["location"]) == "/billing"
    # Deleted, or the login page would see a valid session and bounce straight back.
    assert any(is_deletion(c) for c in session_set_cookies(hop))
    assert landed.status == 200 and path_of(page.url) == "/login"
    assert jar_session(browser_context) is None
    shots.take(page, "old-sign-in-to-login")

    again = billing_after_sign_in(stack, page, started=int(time.time()))
    assert again["auth_time"] > first["auth_time"]  # a new sign-in, stamped anew
    shots.take(page, "signed-in-again-opens-billing")

    # The background call and the page load, each counted as a step-up (not an expiry).
    assert step_ups() - step_ups_before == 2
    assert len(shots.taken) == 4


def billing_after_sign_in(stack: Stack, page: Page, started: int) -> dict[str, Any]:
    """Signs the general user in on the login page now open (sent there from /billing);
    checks /billing opens and shows the sign-in time the gateway stamped. Returns the
    claims of the app's cookie as the browser got it."""
    assert path_of(page.url) == "/login" and page.text_content("#callback") == "/billing"
    callback, landed = sign_in(page, "general", landing=stack.url("/billing"))
    claims = stack.decode(cookie_value(session_set_cookies(callback)[-1]))
    assert claims["sub"] == "general"
    assert started <= claims["auth_time"] <= time.time()  # stamped at this sign-in
    assert landed.status == 200
    assert page.text_content("#who") == "Billing for general"
    # The app reads the gateway's auth_time from its own cookie.
    shown = page.get_attribute("#signed-in-at", "data-auth-time")
    assert shown == str(claims["auth_time"])
    return claims
