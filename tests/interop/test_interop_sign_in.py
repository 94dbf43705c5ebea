"""Issue 12, items 1 and 5: a sign-in through the real packages gets the gateway's sign-in
time (and session id), and the cookie the browser keeps is read by the real next-auth /
@auth/core with every other claim as the package wrote it.

The sign-in is the packages' own Credentials flow through the gateway: ``GET
/api/auth/csrf``, then ``POST /api/auth/callback/credentials`` with the CSRF token and cookie
(tests/interop/nextauth-app.mjs through :mod:`tests.support.real_app`). What makes it a
sign-in for the gateway: the callback path (whatever the request carried), or a session
cookie set for a request with no valid session of that ``sub`` (checked here with the
gateway's ``auth_path`` pointing elsewhere, so the callback path alone does not decide).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest

from gateway.config import DEFAULT_COOKIE, Flavor, Needs
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
    jar_after,
    salt_for,
    session_lines,
)

pytestmark = pytest.mark.interop
V4: Flavor = "nextauth-v4"
V5: Flavor = "authjs-v5"
FLAVORS = [pytest.param(V4, id="v4"), pytest.param(V5, id="v5")]
MINUTE, HOUR = 60, 3600
SID_FORM = re.compile(r"[A-Za-z0-9_-]{22}")  # policy.new_sid(): 128 bits, base64url
OLD_SID = "sid-of-an-older-sign-in-01"
BIG = {"groups": [f"group-{i:04d}" for i in range(500)]}


def user(claims: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What authorize() returns for these claims: ``id`` becomes ``sub``; the jwt callback
    copies the rest (role, groups) into the token."""
    return {"id": claims["sub"], **{k: v for k, v in claims.items() if k != "sub"}, **extra}


async def sign_in(stack: Stack, *, cookie: str = "", https: bool = False) -> tuple[Answer, str]:
    """The Credentials sign-in as next-auth's signIn() makes it: the CSRF token, then the
    callback. The answer to the callback, and the browser's cookies after it."""
    csrf = await stack.request("GET", "/api/auth/csrf", cookie=cookie, https=https)
    assert csrf.status == 200
    jar = jar_after(cookie, csrf.set_cookies)
    scheme = "https" if https else "http"
    form = {
        "csrfToken": csrf.json()["csrfToken"],
        "username": "someone",
        "password": "anything",
        "callbackUrl": f"{scheme}://gw.test/billing",
    }
    answer = await stack.request(
        "POST",
        "/api/auth/callback/credentials",
        cookie=jar,
        https=https,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=urlencode(form),
    )
    assert answer.status == 302, answer.text
    assert answer.headers["Location"] == f"{scheme}://gw.test/billing"
    return answer, jar_after(jar, answer.set_cookies)


def read_back(
    nextauth: NextAuth, stack: Stack, answer: Answer, *, secrets: tuple[str, ...] = (SECRET,)
) -> tuple[str, dict[str, Any]]:
    session = stack.config.session
    return browser_session(
        nextauth,
        session.flavor,
        answer.set_cookies,
        session.cookie,
        secrets=secrets,
        now=int(stack.clock.now),
    )


def session_cookie(
    nextauth: NextAuth, flavor: Flavor, claims: dict[str, Any], *, iat: int, secret: str = SECRET
) -> str:
    name = DEFAULT_COOKIE[flavor]
    token = nextauth.encode(
        flavor, claims, secrets=[secret], salt=salt_for(flavor, name), iat=iat, max_age=THIRTY_DAYS
    )
    return f"{name}={token}"


def assert_expires_as_written(answer: Answer, base: str, exp: int, *, secure: bool) -> None:
    live = [c for c in session_lines(answer.set_cookies, base) if not c.deletes]
    assert live
    for cookie in live:
        assert cookie.expires == exp and ("secure" in cookie.attributes) is secure


@pytest.mark.parametrize("sid", [False, True], ids=["auth_time", "auth_time+sid"])
@pytest.mark.parametrize("layout", ["plain", "secure", "chunked"])
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_sign_in_gets_auth_time_now(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor, layout: str, sid: bool
) -> None:
    needs = Needs(auth_time=True, sid=True) if sid else None
    stack = await stacks(flavor=flavor, routes=STEP_UP_ROUTES, secrets=[SECRET], needs=needs)
    assert stack.config.needs == Needs(auth_time=True, sid=sid)  # billing's max_auth_age
    stack.app.user = user(BOB, **(BIG if layout == "chunked" else {}))
    secure = layout == "secure"
    base = DEFAULT_COOKIE[flavor]

    answer, jar = await sign_in(stack, https=secure)

    written = stack.app.last.written
    assert written is not None and written["iat"] == T0 and "auth_time" not in written
    name, got = read_back(nextauth, stack, answer)
    assert name == (SECURE + base if secure else base)
    expected = {**written, "auth_time": T0}
    if sid:
        assert SID_FORM.fullmatch(got["sid"])
        expected["sid"] = got["sid"]
    assert got == expected  # exp and jti as the app wrote them
    assert_expires_as_written(answer, base, written["exp"], secure=secure)
    if layout == "chunked":
        assert len(session_lines(answer.set_cookies, base)) >= 2

    # The stamped sign-in time is what step-up reads.
    assert (await stack.request("GET", "/billing", cookie=jar, https=secure)).status == 200
    seen = stack.app.last.seen
    assert seen is not None and seen["auth_time"] == T0
    stack.clock.now = T0 + 16 * MINUTE
    late = await stack.request("GET", "/billing", cookie=jar, https=secure)
    assert late.status == 401 and late.json() == {
        "error": "reauthentication_required",
        "max_auth_age": 900,
    }


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET], ids=["current", "rotated-out"])
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_sign_in_over_a_valid_session_of_the_same_user_is_a_new_sign_in(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor, secret: str
) -> None:
    """Step-up: a user signed in long ago signs in again. The callback path decides, though
    the request carries a valid session of the same sub: auth_time is now, the sid new."""
    stack = await stacks(
        flavor=flavor,
        routes=STEP_UP_ROUTES,
        secrets=[SECRET, OLD_SECRET],
        app_secrets=[SECRET],
        needs=Needs(auth_time=True, sid=True),
    )
    stack.app.user = user(BOB)
    old = {**BOB, "auth_time": T0 - 2 * HOUR, "sid": OLD_SID}
    cookie = session_cookie(nextauth, flavor, old, iat=T0 - MINUTE, secret=secret)
    before = await stack.request("GET", "/billing", cookie=cookie)
    assert before.status == 401 and before.json()["error"] == "reauthentication_required"

    answer, jar = await sign_in(stack, cookie=cookie)

    _, got = read_back(nextauth, stack, answer)
    assert got["auth_time"] == T0 and SID_FORM.fullmatch(got["sid"]) and got["sid"] != OLD_SID
    assert (await stack.request("GET", "/billing", cookie=jar)).status == 200


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_sign_in_of_another_user_takes_nothing_from_the_old_session(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    stack = await stacks(
        flavor=flavor, routes=STEP_UP_ROUTES, secrets=[SECRET], needs=Needs(True, True)
    )
    stack.app.user = user(ALICE)
    old = {**BOB, "auth_time": T0 - 2 * HOUR, "sid": OLD_SID}
    answer, _ = await sign_in(stack, cookie=session_cookie(nextauth, flavor, old, iat=T0 - 60))

    written = stack.app.last.written
    assert written is not None
    _, got = read_back(nextauth, stack, answer)
    assert got == {**written, "auth_time": T0, "sid": got["sid"]}
    assert got["sub"] == ALICE["sub"] and got["sid"] != OLD_SID


# --- the rules without the callback path ------------------------------------------------------

# The gateway's auth_path is not where the app's handler lives, so /api/auth/callback/... is
# not the sign-in callback to it: the request's session alone decides.
ELSEWHERE = {"auth_path": "/api/account"}


@pytest.mark.parametrize(
    ("before", "signs_in_as", "auth_time"),
    [
        (None, BOB, T0),  # no session: a sign-in
        ({**BOB, "sub": "user-carol", "sid": OLD_SID}, BOB, T0),  # another sub's: a sign-in
        ({**BOB, "sid": OLD_SID}, BOB, T0 - MINUTE),  # the same sub's: a re-issue, carried
    ],
    ids=["no-session", "another-sub", "same-sub"],
)
@pytest.mark.parametrize("flavor", FLAVORS)
async def test_sign_in_told_apart_by_the_request_session(
    stacks: MakeStack,
    nextauth: NextAuth,
    flavor: Flavor,
    before: dict[str, Any] | None,
    signs_in_as: dict[str, Any],
    auth_time: int,
) -> None:
    stack = await stacks(
        flavor=flavor,
        routes=STEP_UP_ROUTES,
        secrets=[SECRET],
        needs=Needs(True, True),
        session_options=ELSEWHERE,
    )
    assert stack.config.session.auth_path == "/api/account"
    stack.app.user = user(signs_in_as)
    cookie = "" if before is None else session_cookie(nextauth, flavor, before, iat=T0 - MINUTE)

    answer, _ = await sign_in(stack, cookie=cookie)

    written = stack.app.last.written
    assert written is not None
    _, got = read_back(nextauth, stack, answer)
    assert got == {**written, "auth_time": auth_time, "sid": got["sid"]}
    same_sub = before is not None and before["sub"] == signs_in_as["sub"]
    assert (got["sid"] == OLD_SID) is same_sub
    assert SID_FORM.fullmatch(got["sid"]) or same_sub


# --- a config that needs nothing --------------------------------------------------------------


@pytest.mark.parametrize("flavor", FLAVORS)
async def test_plain_config_sign_in_passes_untouched_but_a_hard_cap_needs_auth_time(
    stacks: MakeStack, nextauth: NextAuth, flavor: Flavor
) -> None:
    """No max_auth_age anywhere: a general user's sign-in cookie is the package's own, byte
    for byte; the admin policy's absolute_max_age still needs the sign-in time."""
    stack = await stacks(flavor=flavor, routes=PASSIVE_ROUTES, secrets=[SECRET])
    assert stack.config.needs == Needs()
    base = DEFAULT_COOKIE[flavor]
    stack.app.user = user(BOB)

    answer, _ = await sign_in(stack)

    app_lines = [line for line in stack.app.last.set_cookies if line.startswith(base)]
    assert app_lines and [line for line in answer.set_cookies if line.startswith(base)] == app_lines
    _, got = read_back(nextauth, stack, answer)
    assert "auth_time" not in got and "sid" not in got

    stack.app.user = user(ALICE)
    admin, _ = await sign_in(stack)
    written = stack.app.last.written
    assert written is not None
    _, got = read_back(nextauth, stack, admin)
    assert got == {**written, "auth_time": T0}
