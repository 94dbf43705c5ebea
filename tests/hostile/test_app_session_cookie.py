"""Issue 12, "Bad input": an app (the upstream) that answers with a hostile session cookie.

The gateway reads the session cookie the app sets on its answer (gateway/reissue.py): a
sign-in gets the gateway's sign-in time, a re-issue the request session's ``auth_time`` and
``sid``, a passive re-issue the request's ``iat``. Here the app's cookie is hostile or
broken, and the gateway must never crash, never leak (a token in a log line, one user's
claims in another's cookie), and pass or rewrite it as the contract says:

- one our secrets cannot open (garbage, another secret, chunks with a gap, two variants at
  once, more than the chunk limit, one huge value): passed unchanged, logged at debug;
- a deletion: passed, and the request's chunks it does not name deleted beside it;
- another ``sub``: a sign-in, never a re-issue (nothing of the request's session in it);
- ``auth_time`` in the future: the request session's sign-in time wins on a re-issue;
- a passive re-issue that raises the role: the new policy's hard cap applies from the sign-in.

The harness here is the production server (tests/hostile/conftest.py ``harness_factory``),
its FakeClock at T0, driven by raw HTTP/1.1 so no client-side cookie jar takes part.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig, Needs
from gateway.session import SessionCodec
from tests.hostile.browser import cookie_header, jar_after
from tests.support import T0, FakeClock, GatewayTestServer
from tests.support.harness import ROUTES as PLAIN_ROUTES
from tests.support.harness import Harness, Harnesses, MakeHarness
from tests.support.wire import RawResponse, exchange_async, request_bytes

ROUTES = (
    "name: session,  path: /api/auth/session, public: true, activity: false",
    "name: nextauth, path: /api/auth/,        public: true",
    "name: login,    path: /login,            public: true",
    "name: watch,    path: /watch,            activity: false",
    "name: billing,  path: /billing,          max_auth_age: 15m",
    "name: admin,    path: /admin/,           roles: [admin]",
    "name: app,      path: /",
)
BOB: dict[str, Any] = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
EVE: dict[str, Any] = {"sub": "user-eve", "email": "eve@example.com", "role": "general"}
BIG = {"groups": [f"group-{i:04d}-" + "x" * 40 for i in range(90)]}  # two chunks
BIG3 = {"groups": [f"group-{i:04d}-" + "x" * 40 for i in range(180)]}  # four chunks
HUGE = {"groups": [f"group-{i:05d}-" + "x" * 40 for i in range(700)]}  # past the chunk limit
SID = "sid-of-bobs-sign-in-0001"
HOUR, DAY = 3600, 86400
ATTRS = "; Path=/; HttpOnly; SameSite=Lax"
PASSED = "the app set a session cookie our secrets do not open; passed unchanged"


@pytest.fixture
async def needing_sid() -> AsyncIterator[MakeHarness]:
    """Harnesses whose config needs a sid too (the replaced config, the gateway's builder)."""

    async def serve(
        config: GatewayConfig, clock: FakeClock, registry: CollectorRegistry
    ) -> TestClient[Any, Any]:
        needed = replace(config, needs=Needs(auth_time=True, sid=True))
        client: TestClient[Any, Any] = TestClient(
            GatewayTestServer(needed, clock=clock, registry=registry)
        )
        await client.start_server()
        return client

    harnesses = Harnesses(serve)
    yield harnesses
    await harnesses.close()


async def send(gw: Harness, target: str, jar: dict[str, str]) -> RawResponse:
    headers = [("Host", "gw.test"), ("Accept", "application/json"), ("Connection", "close")]
    if jar:
        headers.append(("Cookie", cookie_header(jar)))
    port = gw.client.server.port
    assert port is not None
    return await exchange_async(port, request_bytes("GET", target, headers))


def jar_of(gw: Harness, token: str, name: str | None = None) -> dict[str, str]:
    """A browser's cookies for ``token``, chunked as the package does."""
    name, size = name or gw.config.session.cookie, 3933
    if len(token) <= size:
        return {name: token}
    return {f"{name}.{i}": token[at : at + size] for i, at in enumerate(range(0, len(token), size))}


def app_sets(gw: Harness, *lines: str) -> None:
    gw.recorder.set_cookies = list(lines)


def live(jar: dict[str, str], expires: int | None = T0 + 30 * DAY) -> list[str]:
    when = "" if expires is None else f"; Expires={email.utils.formatdate(expires, usegmt=True)}"
    return [f"{name}={value}{when}{ATTRS}" for name, value in jar.items()]


def family(gw: Harness, lines: list[str]) -> list[str]:
    base = gw.config.session.cookie
    return [
        line for line in lines if line.partition("=")[0].removeprefix("__Secure-").startswith(base)
    ]


def session_of(gw: Harness, jar: dict[str, str]) -> dict[str, Any]:
    """The claims the app's codec reads from a jar (bare, or chunks in order)."""
    name = gw.config.session.cookie
    chunks = sorted(
        (k for k in jar if k.startswith(name + ".")), key=lambda k: int(k.split(".")[-1])
    )
    assert (name in jar) != bool(chunks), f"ambiguous jar: {sorted(jar)}"
    return gw.decode(jar[name] if name in jar else "".join(jar[k] for k in chunks))


def expires_of(line: str) -> int:
    for attribute in line.split(";")[1:]:
        key, _, value = attribute.strip().partition("=")
        if key.lower() == "expires":
            return int(email.utils.parsedate_to_datetime(value).timestamp())
    raise AssertionError("no Expires")


def assert_no_token_logged(caplog: pytest.LogCaptureFixture, *tokens: str) -> None:
    for record in caplog.records:
        text = record.getMessage()
        leaked = [t for t in tokens if t and t[:40] in text]
        assert not leaked, f"a token is in the log line of {record.name}"


def bob_jar(gw: Harness, **extra: Any) -> dict[str, str]:
    claims = {**BOB, "auth_time": T0 - HOUR, **extra}
    return jar_of(gw, gw.token(claims, iat=T0 - 60))


# --- cookies our secrets cannot open -----------------------------------------------------------


def _other_secret(gw: Harness) -> dict[str, str]:
    codec = SessionCodec("nextauth-v4", ["another-secret-another-secret-another-secret"])
    token = codec.encode(BOB, gw.config.session.cookie, now=T0, max_age=DAY)
    return {gw.config.session.cookie: token}


def _gap(gw: Harness) -> dict[str, str]:
    """Chunks 0 and 2 of a token of three or more: what they join into does not open."""
    chunks = jar_of(gw, gw.token({**BOB, **BIG3}, iat=T0))
    name = gw.config.session.cookie
    count = len(chunks)
    assert count >= 3
    return {f"{name}.0": chunks[f"{name}.0"], f"{name}.2": chunks[f"{name}.2"]}


def _too_many_chunks(gw: Harness) -> dict[str, str]:
    jar = jar_of(gw, gw.token({**BOB, **HUGE}, iat=T0))
    count = len(jar)
    assert count > 8
    return jar


UNREADABLE: dict[str, Callable[[Harness], dict[str, str]]] = {
    "garbage": lambda gw: {gw.config.session.cookie: "not-a-token"},
    "other-secret": _other_secret,
    "gap": _gap,
    "too-many-chunks": _too_many_chunks,
    "huge-value": lambda gw: {gw.config.session.cookie: "A" * 40_000},
}


@pytest.mark.parametrize(
    "path", ["/reports", "/api/auth/session", "/watch", "/api/auth/callback/x"]
)
@pytest.mark.parametrize("case", list(UNREADABLE))
async def test_a_cookie_our_secrets_cannot_open_passes_unchanged(
    harness_factory: MakeHarness, caplog: pytest.LogCaptureFixture, case: str, path: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway")
    gw = await harness_factory(routes=ROUTES)
    browser = bob_jar(gw)
    app_jar = UNREADABLE[case](gw)
    app_sets(gw, *live(app_jar))

    response = await send(gw, path, browser)

    assert response.status == 200
    lines = family(gw, response.set_cookies)
    assert lines[: len(app_jar)] == live(app_jar)  # byte for byte, in the app's order
    extra = [line.partition("=")[0] for line in lines[len(app_jar) :]]
    assert extra == [n for n in browser if n not in app_jar]  # stale names, deleted
    assert all(f"{n}=; Max-Age=0" in " ".join(lines) for n in extra)
    assert any(PASSED in r.getMessage() for r in caplog.records)
    assert_no_token_logged(caplog, *app_jar.values(), *browser.values())


async def test_two_variants_at_once_pass_unchanged(harness_factory: MakeHarness) -> None:
    gw = await harness_factory(routes=ROUTES)
    name = gw.config.session.cookie
    token = gw.token(BOB, iat=T0)
    secure = gw.token(BOB, iat=T0, name="__Secure-" + name)
    lines = [*live({name: token}), *live({"__Secure-" + name: secure})]
    app_sets(gw, *lines)
    response = await send(gw, "/reports", bob_jar(gw))
    assert response.status == 200 and family(gw, response.set_cookies) == lines


async def test_a_browser_left_with_a_gap_is_signed_out_cleanly(
    harness_factory: MakeHarness,
) -> None:
    gw = await harness_factory(routes=ROUTES)
    browser = bob_jar(gw)
    app_sets(gw, *live(_gap(gw)))
    held = jar_after(browser, (await send(gw, "/api/auth/session", browser)).set_cookies)
    gw.recorder.set_cookies = []
    again = await send(gw, "/reports", held)
    assert again.status == 401 and again.json() == {"error": "invalid_session"}
    assert jar_after(held, again.set_cookies) == {}


async def test_chunks_numbered_with_a_gap_that_open_are_rewritten_in_order(
    harness_factory: MakeHarness,
) -> None:
    """The app numbers its two chunks 0 and 2: joined in order they are its token, so the
    re-issue is rewritten in the flavor's own layout (0, 1) and the 2 deleted; the jar the
    browser keeps reads as one session, with the request session's auth_time."""
    gw = await harness_factory(routes=ROUTES)
    browser = bob_jar(gw)
    name = gw.config.session.cookie
    chunks = jar_of(gw, gw.token({**BOB, **BIG}, iat=T0))
    app_sets(gw, *live({f"{name}.0": chunks[f"{name}.0"], f"{name}.2": chunks[f"{name}.1"]}))
    response = await send(gw, "/reports", browser)
    held = jar_after(browser, response.set_cookies)
    assert sorted(held) == [f"{name}.0", f"{name}.1"]
    assert session_of(gw, held)["auth_time"] == T0 - HOUR
    gw.recorder.set_cookies = []
    assert (await send(gw, "/reports", held)).status == 200


async def test_an_answer_header_past_the_upstream_limit_is_a_502_not_a_crash(
    harness_factory: MakeHarness,
) -> None:
    gw = await harness_factory(routes=ROUTES)
    app_sets(gw, f"{gw.config.session.cookie}={'A' * 70_000}{ATTRS}")
    response = await send(gw, "/reports", bob_jar(gw))
    assert response.status == 502 and response.json() == {"error": "upstream_unavailable"}
    assert not family(gw, response.set_cookies)
    gw.recorder.set_cookies = []
    assert (await send(gw, "/reports", bob_jar(gw))).status == 200


# --- deletions --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/reports", "/api/auth/session"])
async def test_a_deletion_of_the_bare_name_also_removes_the_chunks(
    harness_factory: MakeHarness, path: str
) -> None:
    gw = await harness_factory(routes=ROUTES)
    name = gw.config.session.cookie
    browser = jar_of(gw, gw.token({**BOB, **BIG, "auth_time": T0 - HOUR}, iat=T0 - 7 * HOUR))
    assert len(browser) == 2  # due: the gateway would renew it
    app_sets(gw, f"{name}=; Max-Age=0{ATTRS}")
    response = await send(gw, path, browser)
    assert response.status == 200
    assert jar_after(browser, response.set_cookies) == {}
    assert all("Max-Age=0" in line for line in family(gw, response.set_cookies))


# --- another sub --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/reports", "/api/auth/session"])
async def test_a_cookie_of_another_sub_is_a_sign_in(needing_sid: MakeHarness, path: str) -> None:
    gw = await needing_sid(routes=ROUTES)
    browser = bob_jar(gw, sid=SID)
    eve = gw.token(EVE, iat=T0 - 30, max_age=30 * DAY)
    app_sets(gw, *live(jar_of(gw, eve)))

    response = await send(gw, path, browser)

    assert response.status == 200
    (line,) = family(gw, response.set_cookies)
    got = session_of(gw, jar_after(browser, response.set_cookies))
    written = gw.decode(eve)
    assert got == {**written, "auth_time": T0, "sid": got["sid"]}  # iat, exp, jti: Eve's
    assert len(got["sid"]) == 22 and got["sid"] != SID
    assert expires_of(line) == T0 + 30 * DAY
    assert gw.registry.get_sample_value(
        "gateway_passive_reissues_total", {"policy": "general"}
    ) in (None, 0.0)


async def test_a_cookie_of_another_sub_passes_unchanged_where_nothing_is_needed(
    harness_factory: MakeHarness,
) -> None:
    gw = await harness_factory(routes=PLAIN_ROUTES)
    assert gw.config.needs == Needs()
    lines = live(jar_of(gw, gw.token(EVE, iat=T0)))
    app_sets(gw, *lines)
    response = await send(gw, "/api/auth/session", bob_jar(gw))
    assert family(gw, response.set_cookies) == lines


# --- auth_time the app should not have written -------------------------------------------------


@pytest.mark.parametrize("path", ["/reports", "/api/auth/session"])
@pytest.mark.parametrize(
    "app_auth_time", [T0 + HOUR, str(T0), True, -1], ids=["future", "string", "bool", "negative"]
)
async def test_the_request_session_sign_in_time_wins_on_a_reissue(
    harness_factory: MakeHarness, path: str, app_auth_time: Any
) -> None:
    gw = await harness_factory(routes=ROUTES)
    browser = bob_jar(gw, auth_time=T0 - 5 * 60)
    app_sets(gw, *live(jar_of(gw, gw.token({**BOB, "auth_time": app_auth_time}, iat=T0))))

    response = await send(gw, path, browser)

    held = jar_after(browser, response.set_cookies)
    assert session_of(gw, held)["auth_time"] == T0 - 5 * 60
    gw.recorder.set_cookies = []
    assert (await send(gw, "/billing", held)).status == 200


@pytest.mark.parametrize("app_auth_time", [T0 + HOUR, T0], ids=["future", "now"])
async def test_a_session_without_auth_time_gets_its_iat_not_the_apps(
    harness_factory: MakeHarness, app_auth_time: int
) -> None:
    gw = await harness_factory(routes=ROUTES)
    browser = jar_of(gw, gw.token(BOB, iat=T0 - 20 * 60))  # written 20 minutes ago
    app_sets(gw, *live(jar_of(gw, gw.token({**BOB, "auth_time": app_auth_time}, iat=T0))))
    response = await send(gw, "/api/auth/session", browser)
    held = jar_after(browser, response.set_cookies)
    assert session_of(gw, held)["auth_time"] == T0 - 20 * 60


async def test_a_future_auth_time_passed_where_nothing_is_needed_is_refused_next(
    harness_factory: MakeHarness,
) -> None:
    """Plain config, a sign-in: the app's cookie passes as written; the gateway then refuses
    the future sign-in time it carries (invalid, deleted), with no 5xx on the way."""
    gw = await harness_factory(routes=PLAIN_ROUTES)
    lines = live(jar_of(gw, gw.token({**BOB, "auth_time": T0 + HOUR}, iat=T0)))
    app_sets(gw, *lines)
    signed_in = await send(gw, "/api/auth/callback/credentials", {})
    assert family(gw, signed_in.set_cookies) == lines
    held = jar_after({}, signed_in.set_cookies)
    gw.recorder.set_cookies = []
    next_page = await send(gw, "/reports", held)
    assert next_page.status == 401 and next_page.json() == {"error": "invalid_session"}
    assert jar_after(held, next_page.set_cookies) == {}


async def test_the_sign_in_callback_overrides_the_apps_auth_time(
    harness_factory: MakeHarness,
) -> None:
    gw = await harness_factory(routes=ROUTES)
    app_sets(gw, *live(jar_of(gw, gw.token({**BOB, "auth_time": T0 + HOUR}, iat=T0))))
    response = await send(gw, "/api/auth/callback/credentials", bob_jar(gw))
    assert session_of(gw, jar_after({}, response.set_cookies))["auth_time"] == T0


# --- passive re-issues the app bends ------------------------------------------------------------


async def test_an_app_clock_ahead_cannot_move_the_idle_clock(harness_factory: MakeHarness) -> None:
    gw = await harness_factory(routes=ROUTES)
    browser = bob_jar(gw)
    app_sets(gw, *live(jar_of(gw, gw.token(BOB, iat=T0 + 2 * HOUR, max_age=30 * DAY))))
    response = await send(gw, "/api/auth/session", browser)
    (line,) = family(gw, response.set_cookies)
    got = session_of(gw, jar_after(browser, response.set_cookies))
    assert (got["iat"], got["exp"]) == (T0 - 60, T0 - 60 + DAY)
    assert expires_of(line) == T0 - 60 + DAY


async def test_a_passive_reissue_raising_the_role_gets_the_new_hard_cap(
    harness_factory: MakeHarness,
) -> None:
    """Bob (general: no hard cap) signed in 13 hours ago; the app re-issues him as an admin
    (12h cap) on a poll: the cookie leaves already past its end, and is refused after."""
    gw = await harness_factory(routes=ROUTES)
    browser = bob_jar(gw, auth_time=T0 - 13 * HOUR)
    promoted = {**BOB, "role": "admin"}
    app_sets(gw, *live(jar_of(gw, gw.token(promoted, iat=T0, max_age=30 * DAY))))
    response = await send(gw, "/api/auth/session", browser)
    assert response.status == 200
    (line,) = family(gw, response.set_cookies)
    token = line.partition(";")[0].partition("=")[2]
    got = gw.decode(token)
    assert (got["iat"], got["exp"], got["role"]) == (T0 - 60, T0 - HOUR, "admin")
    assert expires_of(line) == T0 - HOUR
    gw.recorder.set_cookies = []
    after = await send(gw, "/reports", {gw.config.session.cookie: token})
    assert after.status == 401 and after.json() == {"error": "session_expired"}


# --- answers the gateway cannot write an Expires for --------------------------------------------


@pytest.mark.parametrize("path", ["/api/auth/callback/credentials", "/reports"])
async def test_an_app_cookie_without_expires_and_a_far_exp_is_no_5xx(
    harness_factory: MakeHarness, path: str
) -> None:
    gw = await harness_factory(routes=ROUTES)
    far = gw.token(BOB, iat=T0, max_age=300_000 * 365 * DAY)  # year ~302000
    app_sets(gw, *live(jar_of(gw, far), expires=None))
    response = await send(gw, path, bob_jar(gw, auth_time=T0 - 60))
    assert response.status == 200


async def test_a_passive_role_raise_with_an_ancient_auth_time_is_no_5xx(
    harness_factory: MakeHarness,
) -> None:
    gw = await harness_factory(routes=ROUTES)
    browser = bob_jar(gw, auth_time=-1e308)
    app_sets(gw, *live(jar_of(gw, gw.token({**BOB, "role": "admin"}, iat=T0))))
    response = await send(gw, "/api/auth/session", browser)
    assert response.status == 200
