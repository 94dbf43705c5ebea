"""Issue 12, item 5: every session cookie the gateway rewrites on the app's re-issue is read by
the real next-auth / @auth/core with the expected claims.

The app is the real package (tests/interop/nextauth-app.mjs through
:mod:`tests.support.real_app`): its session endpoint and its pages' server code
(``getServerSession``, next-auth 5's ``auth()``) decode the cookie the gateway forwarded
and re-issue it with a fresh ``iat``, ``exp`` and ``jti``, written by the package's own
``encode`` and ``SessionStore``. The browser's cookies after each answer are read back by
the package's ``SessionStore`` and ``decode``.

- A **passive** route (``/api/auth/session``, and a protected ``activity: false`` page): the
  app's re-issue leaves with the request's ``iat``, ``exp`` capped by the idle window and the
  hard cap, ``Expires`` matching, ``auth_time`` / ``sid`` carried, the app's ``jti`` and
  every other claim as it wrote them; a tab that keeps polling is still signed out once the
  idle window is over.
- An **active** route: the app's cookie keeps its ``iat`` / ``exp`` / ``jti``, and gets back
  the ``auth_time`` / ``sid`` its jwt callback dropped.
- Both flavors, ``__Secure-`` names (https as a trusted proxy says), chunked cookies, a
  session under a rotated-out secret; and the gateway's own renewal with a ``sid``.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import DEFAULT_COOKIE, Flavor, Needs
from gateway.session import CHUNK_SIZE
from tests.support import T0
from tests.support.harness import OLD_SECRET, SECRET
from tests.support.nextauth import NextAuth
from tests.support.real_app import (
    ALICE,
    BOB,
    PASSIVE_ROUTES,
    SECURE,
    STEP_UP_ROUTES,
    THIRTY_DAYS,
    Answer,
    MakeStack,
    Stack,
    browser_session,
    cookie_header,
    salt_for,
    session_lines,
)

pytestmark = pytest.mark.interop
V4: Flavor = "nextauth-v4"
V5: Flavor = "authjs-v5"
FLAVORS = [pytest.param(V4, id="v4"), pytest.param(V5, id="v5")]
MINUTE, HOUR, DAY = 60, 3600, 86400
SID = "sid-of-the-sign-in-0001"  # 23 base64url characters: a valid sid
BIG = {"groups": [f"group-{i:04d}" for i in range(500)]}  # the token spans several chunks


def request_cookie(
    nextauth: NextAuth,
    flavor: Flavor,
    name: str,
    claims: dict[str, Any],
    *,
    iat: int,
    secret: str = SECRET,
) -> str:
    """The Cookie header of a browser holding a session the real package wrote at ``iat``
    (chunked by its own SessionStore when it is large)."""
    token = nextauth.encode(
        flavor, claims, secrets=[secret], salt=salt_for(flavor, name), iat=iat, max_age=THIRTY_DAYS
    )
    if len(token) <= CHUNK_SIZE[flavor]:
        return f"{name}={token}"
    return cookie_header(nextauth.chunk(flavor, name, token))


def read_back(
    nextauth: NextAuth, stack: Stack, answer: Answer, *, secrets: tuple[str, ...] = (SECRET,)
) -> tuple[str, dict[str, Any]]:
    flavor = stack.config.session.flavor
    base = stack.config.session.cookie
    return browser_session(
        nextauth, flavor, answer.set_cookies, base, secrets=secrets, now=int(stack.clock.now)
    )


def assert_expires(answer: Answer, base: str, exp: int, *, secure: bool) -> None:
    """Every live session cookie of the answer expires with the token, Secure as asked."""
    live = [c for c in session_lines(answer.set_cookies, base) if not c.deletes]
    assert live
    for cookie in live:
        assert cookie.expires == exp, (cookie.name, cookie.expires, exp)
        assert ("secure" in cookie.attributes) is secure, cookie.name


def assert_one_session_cookie_each(answer: Answer, base: str) -> None:
    names = [c.name for c in session_lines(answer.set_cookies, base)]
    assert len(names) == len(set(names)), names


# --- passive routes -------------------------------------------------------------------------

# Who polls: (claims in the session, its iat, the passive path, the exp and auth_time the
# re-issue must leave with, the policy label).
WHO = {
    # general (1d idle, renews after 6h): due, so the app's re-issue would have moved iat
    "bob": (
        {**BOB, "auth_time": T0 - 2 * DAY, "sid": SID},
        T0 - 7 * HOUR,
        "/api/auth/session",
        T0 + 17 * HOUR,  # iat + 1d
        T0 - 2 * DAY,
        "general",
    ),
    # admin (2h idle, 12h cap) on a protected passive page: the hard cap binds first
    "alice": (
        {**ALICE, "auth_time": T0 - 11 * HOUR - 45 * MINUTE},
        T0 - 90 * MINUTE,
        "/admin/watch",
        T0 + 15 * MINUTE,  # auth_time + 12h, before iat + 2h
        T0 - 11 * HOUR - 45 * MINUTE,
        "admin",
    ),
    # a session without auth_time where nothing needs one (no hard cap, no step-up): the
    # gateway adds none, as a wave-1 config would
    "carol": (
        {**BOB, "sub": "user-carol"},
        T0 - 7 * HOUR,
        "/api/auth/session",
        T0 + 17 * HOUR,
        None,
        "general",
    ),
    # the same under a hard cap, which needs auth_time: the session's iat becomes it
    "dave": (
        {**ALICE, "sub": "user-dave"},
        T0 - 90 * MINUTE,
        "/admin/watch",
        T0 + 30 * MINUTE,  # iat + 2h, before iat + 12h
        T0 - 90 * MINUTE,
        "admin",
    ),
}
LAYOUTS = ["plain", "secure", "chunked"]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("who", list(WHO))
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_passive_reissue_keeps_the_request_iat(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor, who: str, layout: str
) -> None:
    stack = await stacks(flavor=flavor, routes=PASSIVE_ROUTES, secrets=[SECRET])
    claims, iat, path, exp, auth_time, policy = WHO[who]
    claims = {**claims, **(BIG if layout == "chunked" else {})}
    secure = layout == "secure"
    base = DEFAULT_COOKIE[flavor]
    name = SECURE + base if secure else base
    cookie = request_cookie(nextauth, flavor, name, claims, iat=iat)
    if layout == "chunked":
        assert cookie.count(f"{name}.") >= 2

    answer = await stack.request("GET", path, cookie=cookie, https=secure)

    assert answer.status == 200
    turn = stack.app.last
    assert turn.seen is not None and turn.written is not None
    assert {k: turn.seen[k] for k in claims} == claims and turn.seen["iat"] == iat
    assert turn.written["iat"] == T0  # the app moved the idle clock; the gateway does not
    got_name, got = read_back(nextauth, stack, answer)
    assert got_name == name
    expected = {**turn.written, "iat": iat, "exp": exp}
    if auth_time is not None:
        expected["auth_time"] = auth_time
    assert got == expected  # jti, name, email, groups...: as the app wrote them
    assert_expires(answer, base, exp, secure=secure)
    assert_one_session_cookie_each(answer, base)
    assert stack.metric("gateway_passive_reissues_total", policy=policy) == 1


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_passive_reissue_gets_back_what_the_jwt_callback_dropped(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    stack = await stacks(
        flavor=flavor, routes=STEP_UP_ROUTES, secrets=[SECRET], needs=Needs(True, True)
    )
    stack.app.drop = ("auth_time", "sid")
    base = DEFAULT_COOKIE[flavor]
    claims = {**BOB, "auth_time": T0 - 3 * HOUR, "sid": SID}
    cookie = request_cookie(nextauth, flavor, base, claims, iat=T0 - 7 * HOUR)

    answer = await stack.request("GET", "/api/auth/session", cookie=cookie)

    written = stack.app.last.written
    assert written is not None and "auth_time" not in written and "sid" not in written
    _, got = read_back(nextauth, stack, answer)
    assert got == {
        **written,
        "iat": T0 - 7 * HOUR,
        "exp": T0 + 17 * HOUR,
        "auth_time": T0 - 3 * HOUR,
        "sid": SID,
    }


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_a_polling_tab_is_signed_out_once_idle_and_activity_keeps_it(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    """SessionProvider's refetch every few hours for a day: each poll re-issues the cookie,
    the idle clock never moves, and the poll after the idle window finds no session. A tab
    whose user navigates once in between stays signed in past that point."""
    stack = await stacks(flavor=flavor, routes=PASSIVE_ROUTES, secrets=[SECRET])
    base = DEFAULT_COOKIE[flavor]
    start = request_cookie(nextauth, flavor, base, BOB, iat=T0)
    polled, navigated = start, start
    for hours in (5, 10, 15, 20):
        stack.clock.now = T0 + hours * HOUR
        answer = await stack.request("GET", "/api/auth/session", cookie=polled)
        _, got = read_back(nextauth, stack, answer)
        assert (got["iat"], got["exp"]) == (T0, T0 + DAY)
        polled = cookie_header(answer.set_cookies)
        if hours == 15:  # the other tab's user clicks once: the gateway renews
            active = await stack.request("GET", "/reports", cookie=navigated)
            assert active.status == 200
            _, renewed = read_back(nextauth, stack, active)
            assert renewed["iat"] == T0 + 15 * HOUR
            navigated = cookie_header(active.set_cookies)

    stack.clock.now = T0 + DAY + 1
    idle = await stack.request("GET", "/api/auth/session", cookie=polled)
    assert idle.status == 200 and idle.json() in ({}, None)  # the app saw no session
    assert stack.app.last.seen is None
    lines = session_lines(idle.set_cookies, base)
    assert lines and all(c.deletes for c in lines)
    kept = await stack.request("GET", "/api/auth/session", cookie=navigated)
    _, still = read_back(nextauth, stack, kept)
    assert still["sub"] == BOB["sub"] and still["iat"] == T0 + 15 * HOUR


# --- rotation ---------------------------------------------------------------------------------


async def test_v5_passive_reissue_of_a_session_under_the_old_secret(
    stacks: MakeStack, nextauth: NextAuth
) -> None:
    """@auth/core knows both secrets (AUTH_SECRET as a list): it reads the old session and
    re-issues it under the first; the gateway's rewrite is read with the new secret alone."""
    stack = await stacks(flavor=V5, routes=PASSIVE_ROUTES, secrets=[SECRET, OLD_SECRET])
    base = DEFAULT_COOKIE[V5]
    claims = {**BOB, "auth_time": T0 - DAY}
    cookie = request_cookie(nextauth, V5, base, claims, iat=T0 - HOUR, secret=OLD_SECRET)

    answer = await stack.request("GET", "/api/auth/session", cookie=cookie)

    assert stack.app.last.seen is not None and stack.app.last.seen["iat"] == T0 - HOUR
    _, got = read_back(nextauth, stack, answer, secrets=(SECRET,))
    assert (got["iat"], got["exp"], got["auth_time"]) == (T0 - HOUR, T0 + 23 * HOUR, T0 - DAY)


async def test_v4_passive_poll_after_a_rotation_keeps_the_session(
    stacks: MakeStack, nextauth: NextAuth
) -> None:
    stack = await stacks(
        flavor=V4, routes=PASSIVE_ROUTES, secrets=[SECRET, OLD_SECRET], app_secrets=[SECRET]
    )
    base = DEFAULT_COOKIE[V4]
    cookie = request_cookie(nextauth, V4, base, BOB, iat=T0 - HOUR, secret=OLD_SECRET)

    answer = await stack.request("GET", "/api/auth/session", cookie=cookie)

    assert answer.status == 200
    assert stack.app.last.seen is not None, "the app could not read the session"
    _, got = read_back(nextauth, stack, answer)
    assert got["sub"] == BOB["sub"] and got["iat"] == T0 - HOUR


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_active_route_after_a_rotation_the_app_reads_the_renewal(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    """The gateway renews a session under the old secret (reason old_secret) and forwards the
    renewal, so an app that knows only the new secret reads it; its re-issue wins and keeps
    the sign-in time."""
    stack = await stacks(
        flavor=flavor, routes=PASSIVE_ROUTES, secrets=[SECRET, OLD_SECRET], app_secrets=[SECRET]
    )
    base = DEFAULT_COOKIE[flavor]
    claims = {**BOB, "auth_time": T0 - DAY}
    cookie = request_cookie(nextauth, flavor, base, claims, iat=T0 - HOUR, secret=OLD_SECRET)

    answer = await stack.request("GET", "/reports", cookie=cookie)

    assert answer.status == 200
    seen = stack.app.last.seen
    assert seen is not None and (seen["iat"], seen["auth_time"]) == (T0, T0 - DAY)
    written = stack.app.last.written
    _, got = read_back(nextauth, stack, answer)
    assert got == {**(written or {}), "auth_time": T0 - DAY}
    assert_one_session_cookie_each(answer, base)


# --- active routes --------------------------------------------------------------------------

# (the request session, its iat, what the app's jwt callback sees iat as, auth_time carried)
ACTIVE = {
    "fresh": ({**BOB, "auth_time": T0 - 5 * MINUTE, "sid": SID}, T0 - MINUTE, T0 - MINUTE),
    "due": ({**BOB, "auth_time": T0 - 5 * MINUTE, "sid": SID}, T0 - 7 * HOUR, T0),
    "no-auth_time": ({**BOB, "sid": SID}, T0 - 5 * MINUTE, T0),  # renewed to add it
}


@pytest.mark.parametrize("secure", [False, True], ids=["plain", "secure"])
@pytest.mark.parametrize("case", list(ACTIVE))
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_active_reissue_dropping_auth_time_and_sid_gets_them_back(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor, case: str, secure: bool
) -> None:
    stack = await stacks(
        flavor=flavor, routes=STEP_UP_ROUTES, secrets=[SECRET], needs=Needs(True, True)
    )
    stack.app.drop = ("auth_time", "sid")
    claims, iat, seen_iat = ACTIVE[case]
    auth_time = claims.get("auth_time", iat)
    base = DEFAULT_COOKIE[flavor]
    name = SECURE + base if secure else base
    cookie = request_cookie(nextauth, flavor, name, claims, iat=iat)

    answer = await stack.request("GET", "/reports", cookie=cookie, https=secure)

    assert answer.status == 200
    seen, written = stack.app.last.seen, stack.app.last.written
    assert seen is not None and seen["iat"] == seen_iat  # the request's, or the renewal's
    assert written is not None and "auth_time" not in written and "sid" not in written
    got_name, got = read_back(nextauth, stack, answer)
    assert got_name == name
    assert got == {**written, "auth_time": auth_time, "sid": SID}
    assert_expires(answer, base, written["exp"], secure=secure)
    assert_one_session_cookie_each(answer, base)

    # The carried auth_time is what step-up reads: in within 15 minutes of it, not after.
    held = cookie_header(answer.set_cookies)
    assert (await stack.request("GET", "/billing", cookie=held, https=secure)).status == 200
    stack.clock.now = auth_time + 16 * MINUTE
    late = await stack.request("GET", "/billing", cookie=held, https=secure)
    assert late.status == 401 and late.json()["error"] == "reauthentication_required"


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_active_reissue_in_a_plain_config_carries_auth_time(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    """Nothing needs auth_time or sid: the app's re-issue still gets the session's auth_time
    (as the gateway's renewals always keep it), and no sid is made up."""
    stack = await stacks(flavor=flavor, routes=PASSIVE_ROUTES, secrets=[SECRET])
    assert stack.config.needs == Needs()
    stack.app.drop = ("auth_time",)
    base = DEFAULT_COOKIE[flavor]
    cookie = request_cookie(nextauth, flavor, base, {**BOB, "auth_time": T0 - DAY}, iat=T0 - 60)

    answer = await stack.request("GET", "/reports", cookie=cookie)

    written = stack.app.last.written
    assert written is not None
    _, got = read_back(nextauth, stack, answer)
    assert got == {**written, "auth_time": T0 - DAY}


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_an_unchanged_reissue_passes_as_the_app_wrote_it(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    """The app's jwt callback keeps every claim: nothing to rewrite on an active route, so
    the browser gets the package's own Set-Cookie lines, byte for byte."""
    stack = await stacks(flavor=flavor, routes=STEP_UP_ROUTES, secrets=[SECRET])
    base = DEFAULT_COOKIE[flavor]
    cookie = request_cookie(nextauth, flavor, base, {**BOB, "auth_time": T0 - 60}, iat=T0 - 60)

    answer = await stack.request("GET", "/reports", cookie=cookie)

    app_lines = [line for line in stack.app.last.set_cookies if line.startswith(base)]
    assert app_lines and [line for line in answer.set_cookies if line.startswith(base)] == app_lines


# --- the gateway's own renewal, read by the app -------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_renewal_adding_a_sid_is_read_by_the_package_and_the_app(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    """A due session on a path where the app does not touch the session (a static file):
    the gateway's renewal, with the sid it adds, is what the browser keeps, and the app's
    next read of it sees the same sid."""
    stack = await stacks(
        flavor=flavor, routes=STEP_UP_ROUTES, secrets=[SECRET], needs=Needs(True, True)
    )
    base = DEFAULT_COOKIE[flavor]
    claims = {**BOB, "auth_time": T0 - DAY, **BIG}
    cookie = request_cookie(nextauth, flavor, base, claims, iat=T0 - 7 * HOUR)

    answer = await stack.request("GET", "/static/app.js", cookie=cookie)

    assert answer.status == 200 and stack.app.last.written is None
    _, got = read_back(nextauth, stack, answer)
    sid = got.pop("sid")
    assert isinstance(sid, str) and len(sid) == 22
    assert {k: got[k] for k in claims} == claims
    assert (got["iat"], got["exp"]) == (T0, T0 + DAY)
    assert_expires(answer, base, T0 + DAY, secure=False)

    page = await stack.request("GET", "/reports", cookie=cookie_header(answer.set_cookies))
    assert page.status == 200
    assert stack.app.last.seen is not None and stack.app.last.seen["sid"] == sid
