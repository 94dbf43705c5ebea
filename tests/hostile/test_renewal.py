"""Issue 4, items 7 and 8: the session cookie a browser ends up holding is always one the app
can read.

7. The upstream sets the session cookie on the very response where the gateway renews it (or
   deletes it): the app's cookie wins, there are never two session cookies in one response,
   and the jar the browser holds afterwards reads as one valid session.
8. A burst of concurrent first requests with the same due cookie: every response carries a
   complete renewal the app's codec reads, with the same claims, and the upstream saw exactly
   the cookie that response set.

A "browser" here is :func:`tests.hostile.browser.jar_after`: the Set-Cookie lines applied to
the cookies the request carried; the next request with that jar is the proof.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest

from tests.hostile.browser import cookie_header, jar_after
from tests.support import T0
from tests.support.harness import Harness
from tests.support.wire import RawResponse, exchange_async, request_bytes

BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}  # renews after 6h
ALICE = {"sub": "user-alice", "role": "admin"}  # renews after 1h, 12h cap
BIG = {"groups": [f"group-{i:04d}-" + "x" * 40 for i in range(90)]}  # two chunks
HOUR, DAY = 3600, 86400
APP_ATTRS = "; Path=/; HttpOnly; SameSite=Lax"


async def send(gw: Harness, target: str, jar: dict[str, str]) -> RawResponse:
    headers = [("Host", "gw.test"), ("Accept", "application/json"), ("Connection", "close")]
    if jar:
        headers.append(("Cookie", cookie_header(jar)))
    port = gw.client.server.port
    assert port is not None
    return await exchange_async(port, request_bytes("GET", target, headers))


def jar_of(gw: Harness, token: str) -> dict[str, str]:
    """A browser's cookies for ``token`` under the configured name, chunked as the app does."""
    name, size = gw.config.session.cookie, 3933
    if len(token) <= size:
        return {name: token}
    return {f"{name}.{i}": token[at : at + size] for i, at in enumerate(range(0, len(token), size))}


def session_of(gw: Harness, jar: dict[str, str]) -> dict[str, Any]:
    """The session the app's own codec reads from a jar (bare, or chunks in order)."""
    name = gw.config.session.cookie
    chunks = sorted(
        (k for k in jar if k.startswith(name + ".")), key=lambda k: int(k[len(name) + 1 :])
    )
    assert (name in jar) != bool(chunks), f"ambiguous jar: {sorted(jar)}"
    token = jar[name] if name in jar else "".join(jar[k] for k in chunks)
    return gw.decode(token)


def assert_one_session_cookie_each(response: RawResponse, gw: Harness) -> None:
    """No cookie name of the session family is set twice in one response."""
    name = gw.config.session.cookie
    names = [line.partition("=")[0] for line in response.set_cookies]
    family = [n for n in names if n == name or n.startswith(name + ".")]
    assert len(family) == len(set(family)), names


def app_sets(gw: Harness, *lines: str) -> None:
    gw.recorder.set_cookies = list(lines)


def live_lines(jar: dict[str, str]) -> list[str]:
    return [f"{name}={value}{APP_ATTRS}" for name, value in jar.items()]


def deletion(name: str) -> str:
    return f"{name}=; Max-Age=0{APP_ATTRS}"


# --- 7: the app's Set-Cookie on the response the gateway renews -----------------------------


async def test_app_reissue_keeping_auth_time_wins_untouched(gw: Harness) -> None:
    browser = jar_of(gw, gw.token(BOB, iat=T0 - 7 * HOUR))
    app_token = gw.token({**BOB, "auth_time": T0 - 7 * HOUR, "name": "Bob B."}, iat=T0)
    app_sets(gw, *live_lines(jar_of(gw, app_token)))
    response = await send(gw, "/reports", browser)
    assert response.status == 200
    assert_one_session_cookie_each(response, gw)
    after = jar_after(browser, response.set_cookies)
    assert after == jar_of(gw, app_token)  # exactly the app's cookie, no renewal beside it
    gw.recorder.set_cookies = []
    again = await send(gw, "/reports", after)
    assert again.status == 200 and not again.set_cookies


async def test_app_reissue_dropping_auth_time_gets_it_back(gw: Harness) -> None:
    claims = {**ALICE, "auth_time": T0 - 3 * HOUR}
    browser = jar_of(gw, gw.token(claims, iat=T0 - 2 * HOUR + 60))  # due (1h)
    app_sets(gw, *live_lines(jar_of(gw, gw.token({**ALICE, "name": "Alice"}, iat=T0))))
    response = await send(gw, "/reports", browser)
    assert_one_session_cookie_each(response, gw)
    session = session_of(gw, jar_after(browser, response.set_cookies))
    assert session["name"] == "Alice" and session["auth_time"] == T0 - 3 * HOUR


@pytest.mark.parametrize(
    ("before", "after"), [({}, BIG), (BIG, {})], ids=["bare-to-chunks", "chunks-to-bare"]
)
async def test_app_reissue_changing_the_chunk_count(
    gw: Harness, before: dict[str, Any], after: dict[str, Any]
) -> None:
    browser = jar_of(gw, gw.token({**BOB, **before}, iat=T0 - 7 * HOUR))
    app_jar = jar_of(gw, gw.token({**BOB, **after, "auth_time": T0 - 7 * HOUR}, iat=T0))
    # As NextAuth's SessionStore does: write the new layout, expire what it saw and dropped.
    stale = [
        n
        for n in jar_of(gw, gw.token({**BOB, **before, "auth_time": 1}, iat=T0))
        if n not in app_jar
    ]
    app_sets(gw, *live_lines(app_jar), *map(deletion, stale))
    response = await send(gw, "/reports", browser)
    assert_one_session_cookie_each(response, gw)
    held = jar_after(browser, response.set_cookies)
    assert held == app_jar
    gw.recorder.set_cookies = []
    assert (await send(gw, "/reports", held)).status == 200


async def test_app_sign_out_wins_over_a_renewal(gw: Harness) -> None:
    browser = jar_of(gw, gw.token(BOB, iat=T0 - 7 * HOUR))
    app_sets(gw, deletion(gw.config.session.cookie))
    response = await send(gw, "/api/auth/signout", browser)
    assert response.set_cookies == [deletion(gw.config.session.cookie)]
    assert jar_after(browser, response.set_cookies) == {}


async def test_unrelated_app_cookies_sit_beside_the_renewal(gw: Harness) -> None:
    browser = jar_of(gw, gw.token(BOB, iat=T0 - 7 * HOUR))
    app_sets(gw, "theme=dark; Path=/", "next-auth.csrf-token=abc; Path=/")
    response = await send(gw, "/reports", browser)
    held = jar_after(browser, response.set_cookies)
    assert held["theme"] == "dark" and held["next-auth.csrf-token"] == "abc"
    assert session_of(gw, held)["iat"] == T0
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("old", "new"), [(BIG, {}), ({}, BIG)], ids=["chunked-old-bare-new", "bare-old-chunked-new"]
)
async def test_sign_in_over_an_expired_session_of_another_layout(
    gw: Harness, old: dict[str, Any], new: dict[str, Any]
) -> None:
    browser = jar_of(gw, gw.token({**BOB, **old}, iat=T0 - 2 * DAY, max_age=DAY))
    fresh = jar_of(gw, gw.token({**BOB, **new}, iat=T0))
    app_sets(gw, *live_lines(fresh))  # the sign-in callback: it saw no session cookie
    response = await send(gw, "/api/auth/callback/credentials", browser)
    assert response.status == 200
    held = jar_after(browser, response.set_cookies)
    gw.recorder.set_cookies = []
    assert (await send(gw, "/reports", held)).status == 200


async def test_sign_in_over_an_expired_session_of_the_same_layout(gw: Harness) -> None:
    browser = jar_of(gw, gw.token(BOB, iat=T0 - 2 * DAY, max_age=DAY))
    fresh = jar_of(gw, gw.token(BOB, iat=T0))
    app_sets(gw, *live_lines(fresh))
    response = await send(gw, "/api/auth/callback/credentials", browser)
    assert_one_session_cookie_each(response, gw)
    assert jar_after(browser, response.set_cookies) == fresh


# --- 8: a burst of first requests with the same due cookie ----------------------------------

BURST = 40


async def burst(gw: Harness, browser: dict[str, str]) -> list[RawResponse]:
    return list(await asyncio.gather(*(send(gw, f"/reports?n={i}", browser) for i in range(BURST))))


def upstream_cookie(response: RawResponse) -> str:
    return str(json.loads(response.body)["headers"]["Cookie"])


@pytest.mark.parametrize("extra", [{}, BIG], ids=["bare", "chunked"])
async def test_a_burst_renews_every_response_consistently(
    gw: Harness, extra: dict[str, Any]
) -> None:
    browser = jar_of(gw, gw.token({**BOB, **extra}, iat=T0 - 7 * HOUR))
    responses = await burst(gw, browser)
    jtis = []
    for response in responses:
        assert response.status == 200
        assert_one_session_cookie_each(response, gw)
        held = jar_after(browser, response.set_cookies)
        assert set(held) == set(browser)  # the same layout: no chunk left over or missing
        session = session_of(gw, held)
        assert (session["sub"], session["iat"], session["exp"], session["auth_time"]) == (
            "user-bob",
            T0,
            T0 + DAY,
            T0 - 7 * HOUR,
        )
        assert upstream_cookie(response) == cookie_header(held)  # the app saw what was set
        jtis.append(session["jti"])
    assert len(set(jtis)) == BURST
    assert len(gw.recorder.requests) == BURST


async def test_a_burst_under_a_hard_cap_records_one_auth_time(gw: Harness) -> None:
    browser = jar_of(gw, gw.token(ALICE, iat=T0 - 60))  # no auth_time yet: each one adds it
    responses = await burst(gw, browser)
    sessions = [session_of(gw, jar_after(browser, r.set_cookies)) for r in responses]
    assert Counter((s["auth_time"], s["exp"]) for s in sessions) == {
        (T0 - 60, T0 + 2 * HOUR): BURST
    }


async def test_any_cookie_of_the_burst_is_good_afterwards(gw: Harness) -> None:
    browser = jar_of(gw, gw.token(BOB, iat=T0 - 7 * HOUR))
    responses = await burst(gw, browser)
    gw.clock.advance(60)
    later = await asyncio.gather(
        *(send(gw, "/reports", jar_after(browser, r.set_cookies)) for r in responses)
    )
    assert [(r.status, r.set_cookies) for r in later] == [(200, [])] * BURST
