"""Issue 12, "Bad input": odd ``auth_time`` and ``sid`` claims, minted with the gateway's own
secret (only the app, or whoever stole the secret, can write them), never cause a 5xx, never
inject a header, and never get past step-up.

The decision, on a normal route, a step-up route (``max_auth_age: 15m``), a protected passive
route and the public passive ``/api/auth/session``:

- ``auth_time`` in the future (past the clock skew) or not a number: invalid (302 / 401 and
  the cookie deleted; a public route passes without the session);
- a number far in the past: valid, but a step-up on the step-up route;
- a ``sid`` that is not a 16-128 character base64url string: invalid only when the config
  needs a sid; otherwise it is carried and never read.

Then step-up against path tricks: a session signed in an hour ago asks for ``/billing`` by
every spelling the route matcher folds (case, dots, escapes, slashes, full-width letters):
each gets the step-up or a 400, never the upstream.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from gateway.config import Flavor, Needs, load_config_text
from tests.hostile.forge import seal, v4_key, v5_key, v5_kid
from tests.support import T0, FakeClock, claims_of, start_gateway
from tests.support.harness import SECRET, harness_config_text
from tests.support.live import COOKIE_V5, LiveGateway, LiveLoop
from tests.support.upstreams import Recorder, upstream_app
from tests.support.wire import RawResponse

ROUTES = (
    "name: session,  path: /api/auth/session, public: true, activity: false",
    "name: nextauth, path: /api/auth/,        public: true",
    "name: login,    path: /login,            public: true",
    "name: watch,    path: /watch,            activity: false",
    "name: billing,  path: /billing,          max_auth_age: 15m",
    "name: admin,    path: /admin/,           roles: [admin]",
    "name: api,      path: /api/,             unauthenticated: 401",
    "name: app,      path: /",
)
NAV = ("Accept", "text/html")
API = ("Accept", "application/json")
BOB: dict[str, Any] = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
ALICE: dict[str, Any] = {"sub": "user-alice", "role": "admin"}  # 2h idle, 12h hard cap
FLAVORS: tuple[Flavor, ...] = ("nextauth-v4", "authjs-v5")
INJECTED = "X-Injected"
HOUR = 3600
SKEW = 15


@pytest.fixture(scope="module")
def plain(_live_loop: LiveLoop) -> dict[str, LiveGateway]:
    """A gateway per flavor with the routes above: needs auth_time (billing), not sid."""
    return {flavor: _live_loop.gateway(flavor, routes=ROUTES) for flavor in FLAVORS}


async def _start_needing_sid(
    flavor: Flavor,
) -> tuple[LiveGateway, Callable[[], Coroutine[Any, Any, None]]]:
    recorder = Recorder()
    upstream = TestServer(upstream_app(recorder), host="127.0.0.1")
    await upstream.start_server()
    assert upstream.port is not None
    text = harness_config_text(upstream.port, flavor=flavor, routes=ROUTES)
    config = replace(load_config_text(text, "hostile.yaml", env={}), needs=Needs(True, True))
    running = await start_gateway(config, clock=FakeClock())

    async def close() -> None:
        await running.close()
        await upstream.close()

    return LiveGateway(config, running.port, recorder), close


@pytest.fixture(scope="module")
def needing_sid(_live_loop: LiveLoop) -> Iterator[dict[str, LiveGateway]]:
    """The same gateways with a config that needs a sid (as revocation will), built from the
    replaced config by the gateway's own builder."""
    started = {flavor: _live_loop.run(_start_needing_sid(flavor)) for flavor in FLAVORS}
    yield {flavor: gateway for flavor, (gateway, _) in started.items()}
    for _, close in started.values():
        _live_loop.run(close())


# --- what each answer must be -----------------------------------------------------------------


def assert_clean(response: RawResponse, seen: Any) -> None:
    """No 5xx, no header of the claims' making, on the answer or upstream."""
    assert response.status < 500, (response.status, response.body[:200])
    assert INJECTED not in response.headers
    assert seen is None or INJECTED not in seen.headers


def deletes(response: RawResponse, name: str) -> bool:
    return any(
        line.startswith(f"{name}=;") and "Max-Age=0" in line for line in response.set_cookies
    )


def assert_verdict(gateway: LiveGateway, token: str, verdict: str) -> None:
    """``verdict``: ``invalid``, ``valid`` or ``step_up`` (valid, but signed in too long ago
    for /billing), checked on every kind of route, as a navigation and as an API call."""
    name = gateway.cookie
    cookie = ("Cookie", f"{name}={token}")
    for path in ("/reports", "/watch", "/billing"):
        kind = verdict if (path == "/billing" or verdict != "step_up") else "valid"
        nav, nav_seen = gateway.send(path, [NAV, cookie])
        api, api_seen = gateway.send(path, [API, cookie])
        assert_clean(nav, nav_seen)
        assert_clean(api, api_seen)
        if kind == "valid":
            assert (nav.status, api.status) == (200, 200), (path, nav.status, api.status)
            assert nav_seen is not None and nav_seen.headers["X-Auth-Request-User"] == "user-bob"
            assert not deletes(nav, name) and not deletes(api, name)
            continue
        assert nav_seen is None and api_seen is None, f"{path} reached the upstream"
        assert nav.status == 302 and nav.headers["Location"].startswith("/login?callbackUrl=")
        assert deletes(nav, name), path
        assert api.status == 401, path
        if kind == "invalid":
            assert api.json() == {"error": "invalid_session"} and deletes(api, name)
        else:
            assert api.json() == {"error": "reauthentication_required", "max_auth_age": 900}
            assert "insufficient_user_authentication" in api.headers["WWW-Authenticate"]
            assert not api.set_cookies  # a background call does not sign the user out
    poll, seen = gateway.send("/api/auth/session", [API, cookie])
    assert_clean(poll, seen)
    assert poll.status == 200 and seen is not None
    forwarded = seen.headers.get("Cookie", "")
    passed_on = f"{name}={token}" in forwarded  # a bool: a failure never prints the token
    if verdict == "invalid":
        stripped = name not in forwarded
        assert stripped and deletes(poll, name)
    else:
        assert passed_on and not poll.set_cookies


def bob(**claims: Any) -> dict[str, Any]:
    return {**BOB, **claims}


# --- auth_time --------------------------------------------------------------------------------

AUTH_TIMES: list[Any] = [
    pytest.param(T0 - 60, "valid", id="recent"),
    pytest.param(T0 - 60.5, "valid", id="recent-float"),
    pytest.param(T0 + SKEW, "valid", id="future-within-skew"),
    pytest.param(T0 + SKEW + 1, "invalid", id="future-past-skew"),
    pytest.param(T0 + HOUR, "invalid", id="future"),
    pytest.param(2**53, "invalid", id="2^53"),
    pytest.param(1e308, "invalid", id="1e308"),
    pytest.param(10**400, "invalid", id="10^400"),
    pytest.param(-(10**400), "invalid", id="-10^400"),
    pytest.param(T0 - HOUR, "step_up", id="an-hour-ago"),
    pytest.param(0, "step_up", id="zero"),
    pytest.param(-1, "step_up", id="negative"),
    pytest.param(-1e308, "step_up", id="-1e308"),
    pytest.param(str(T0 - 60), "invalid", id="numeric-string"),
    pytest.param("", "invalid", id="empty-string"),
    pytest.param("now", "invalid", id="word"),
    pytest.param(True, "invalid", id="true"),
    pytest.param(False, "invalid", id="false"),
    pytest.param({"t": T0}, "invalid", id="object"),
    pytest.param([T0 - 60], "invalid", id="list"),
]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize(("auth_time", "verdict"), AUTH_TIMES)
def test_auth_time(
    plain: dict[str, LiveGateway], flavor: Flavor, auth_time: Any, verdict: str
) -> None:
    gateway = plain[flavor]
    assert_verdict(gateway, gateway.token(bob(auth_time=auth_time), iat=T0 - 60), verdict)


def _forged(flavor: Flavor, payload: bytes) -> str:
    """A token whose payload is these exact bytes (JSON our encoder would refuse to write)."""
    if flavor == "nextauth-v4":
        return seal(v4_key(SECRET), {"alg": "dir", "enc": "A256GCM"}, payload)
    key = v5_key(SECRET, COOKIE_V5)
    return seal(key, {"alg": "dir", "enc": "A256CBC-HS512", "kid": v5_kid(key)}, payload)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_auth_time_that_json_parse_cannot_hold_is_invalid(
    plain: dict[str, LiveGateway], flavor: Flavor, literal: str
) -> None:
    body = json.dumps({**BOB, "iat": T0 - 60, "exp": T0 + 86400}, separators=(",", ":"))
    payload = (body[:-1] + f',"auth_time":{literal}}}').encode()
    assert_verdict(plain[flavor], _forged(flavor, payload), "invalid")


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize(
    "auth_time", [T0 - 60.5, -1, -1e308, 0], ids=["float", "negative", "-1e308", "zero"]
)
def test_odd_but_valid_auth_time_survives_a_renewal(
    plain: dict[str, LiveGateway], flavor: Flavor, auth_time: float
) -> None:
    """A due general session (no hard cap): renewed, the auth_time kept as it was, and
    /_gateway/session reports it as whole seconds."""
    gateway = plain[flavor]
    token = gateway.token(bob(auth_time=auth_time), iat=T0 - 7 * HOUR)
    cookie = ("Cookie", f"{gateway.cookie}={token}")
    response, seen = gateway.send("/reports", [API, cookie])
    assert_clean(response, seen)
    assert response.status == 200
    (line,) = response.set_cookies
    renewed = line.partition(";")[0].partition("=")[2]
    claims = claims_of(renewed, secrets=[SECRET], flavor=flavor, cookie=gateway.cookie)
    assert (claims["iat"], claims["auth_time"]) == (T0, auth_time)
    info, _ = gateway.send("/_gateway/session", [API, cookie])
    assert info.status == 200 and info.json()["auth_time"] == int(auth_time)


@pytest.mark.parametrize("auth_time", [0, -1, -1e308], ids=["zero", "negative", "-1e308"])
def test_an_ancient_auth_time_ends_a_hard_capped_session(
    plain: dict[str, LiveGateway], auth_time: float
) -> None:
    gateway = plain["nextauth-v4"]
    token = gateway.token({**ALICE, "auth_time": auth_time}, iat=T0 - 60)
    response, seen = gateway.send("/reports", [API, ("Cookie", f"{gateway.cookie}={token}")])
    assert_clean(response, seen)
    assert response.status == 401 and response.json() == {"error": "session_expired"}
    assert seen is None and deletes(response, gateway.cookie)


# auth_time: null is not "not recorded yet" (a missing key is): like every other non-number it
# is invalid, on every route, on a session due for renewal and on a WebSocket upgrade.


def test_auth_time_null_is_invalid(plain: dict[str, LiveGateway]) -> None:
    gateway = plain["nextauth-v4"]
    assert_verdict(gateway, gateway.token(bob(auth_time=None), iat=T0 - 60), "invalid")


def test_auth_time_null_on_a_due_hard_capped_session_is_no_5xx(
    plain: dict[str, LiveGateway],
) -> None:
    gateway = plain["nextauth-v4"]
    token = gateway.token({**ALICE, "auth_time": None}, iat=T0 - 90 * 60)  # due after 1h
    response, seen = gateway.send("/reports", [API, ("Cookie", f"{gateway.cookie}={token}")])
    assert_clean(response, seen)
    assert (response.status, response.json()) == (401, {"error": "invalid_session"})
    assert seen is None and deletes(response, gateway.cookie)


def test_auth_time_null_on_a_websocket_is_refused(plain: dict[str, LiveGateway]) -> None:
    gateway = plain["nextauth-v4"]
    token = gateway.token({**ALICE, "auth_time": None}, iat=T0 - 60)
    response, seen = gateway.upgrade("/ws", [("Cookie", f"{gateway.cookie}={token}")])
    assert_clean(response, seen)
    assert (response.status, json.loads(response.body)) == (401, {"error": "invalid_session"})
    assert seen is None  # the upstream never sees the upgrade


# --- sid --------------------------------------------------------------------------------------

SIDS: list[Any] = [
    pytest.param("a" * 16, True, id="16-chars"),
    pytest.param("Ab0_-" * 4 + "xy", True, id="22-base64url"),
    pytest.param("z" * 128, True, id="128-chars"),
    pytest.param(12345678901234567890, False, id="number"),
    pytest.param("", False, id="empty"),
    pytest.param("a" * 15, False, id="too-short"),
    pytest.param("a" * 129, False, id="too-long"),
    pytest.param("abcdefgh/ijklmnop", False, id="slash"),
    pytest.param("abcdefghijklmnop==", False, id="padding"),
    pytest.param("abcdefghijklmnop\r\nX-Injected: 1", False, id="crlf"),
    pytest.param("abcdefghijklmnop\nX-Injected: 1", False, id="lf"),
    pytest.param("ßéñçøå" * 4, False, id="unicode"),
    pytest.param("".join(chr(0xFF41 + i) for i in range(16)), False, id="fullwidth"),
    pytest.param(None, False, id="null"),
    pytest.param(True, False, id="true"),
    pytest.param(["a" * 22], False, id="list"),
    pytest.param({"sid": "a" * 22}, False, id="object"),
]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize(("sid", "well_formed"), SIDS)
def test_sid_is_read_only_where_needed(
    plain: dict[str, LiveGateway],
    needing_sid: dict[str, LiveGateway],
    flavor: Flavor,
    sid: Any,
    well_formed: bool,
) -> None:
    claims = bob(auth_time=T0 - 60, sid=sid)
    for gateway, verdict in (
        (plain[flavor], "valid"),
        (needing_sid[flavor], "valid" if well_formed else "invalid"),
    ):
        assert_verdict(gateway, gateway.token(claims, iat=T0 - 60), verdict)


@pytest.mark.parametrize("flavor", FLAVORS)
def test_an_odd_sid_is_carried_by_a_renewal_where_not_needed(
    plain: dict[str, LiveGateway], flavor: Flavor
) -> None:
    gateway = plain[flavor]
    sid = "abcdefghijklmnop\r\nX-Injected: 1"
    token = gateway.token(bob(auth_time=T0 - HOUR, sid=sid), iat=T0 - 7 * HOUR)
    cookie = ("Cookie", f"{gateway.cookie}={token}")
    response, seen = gateway.send("/reports", [API, cookie])
    assert_clean(response, seen)
    (line,) = response.set_cookies
    renewed = line.partition(";")[0].partition("=")[2]
    claims = claims_of(renewed, secrets=[SECRET], flavor=flavor, cookie=gateway.cookie)
    assert claims["sid"] == sid and claims["iat"] == T0
    info, _ = gateway.send("/_gateway/session", [API, cookie])
    assert_clean(info, None)
    assert info.json()["sid"] == sid  # JSON-escaped in the body, never a header


@pytest.mark.parametrize("flavor", FLAVORS)
def test_a_session_without_sid_gets_one_on_an_active_route_only(
    needing_sid: dict[str, LiveGateway], flavor: Flavor
) -> None:
    gateway = needing_sid[flavor]
    cookie = ("Cookie", f"{gateway.cookie}={gateway.token(bob(auth_time=T0 - 60))}")
    poll, _ = gateway.send("/api/auth/session", [API, cookie])
    assert poll.status == 200 and not poll.set_cookies  # passive: nothing added
    active, _ = gateway.send("/reports", [API, cookie])
    (line,) = active.set_cookies
    renewed = line.partition(";")[0].partition("=")[2]
    claims = claims_of(renewed, secrets=[SECRET], flavor=flavor, cookie=gateway.cookie)
    assert len(claims["sid"]) == 22 and claims["auth_time"] == T0 - 60


# --- step-up by another spelling of the path ---------------------------------------------------

SPELLINGS = [
    "/billing",
    "/BILLING",
    "/Billing",
    "/billing/",
    "/billing/.",
    "/billing/./",
    "/billing.",
    "/billing..",
    "/billing%2e",
    "/billing%2E",
    "/billing%20",
    "/%62illing",
    "/%62%69%6c%6c%69%6e%67",
    "/b%49lling",
    "/BiLlInG/invoices",
    "//billing",
    "/./billing",
    "/%2e/billing",
    "/x/../billing",
    "/x/%2e%2e/billing",
    "/x%2f..%2fbilling",
    "/x\\..\\billing",
    "/billing/sub/..",
    "/billing?x=/login",
    "/billing#/login",
    "/%EF%BD%82%EF%BD%89%EF%BD%8C%EF%BD%8C%EF%BD%89%EF%BD%8E%EF%BD%87",  # full-width
    "/billing;x",
    "/billing%3bx",
    "/billing%00",
    "/billing%252e",
    "/billing/%2e%2e%2f%2e%2e%2fadmin",
]


@pytest.mark.parametrize("target", SPELLINGS)
def test_step_up_cannot_be_spelled_around(plain: dict[str, LiveGateway], target: str) -> None:
    gateway = plain["nextauth-v4"]
    old = ("Cookie", f"{gateway.cookie}={gateway.token(bob(auth_time=T0 - HOUR))}")
    nav, nav_seen = gateway.send(target.encode(), [NAV, old])
    api, api_seen = gateway.send(target.encode(), [API, old])
    assert nav_seen is None and api_seen is None, f"{target} reached the upstream"
    assert_clean(nav, None)
    assert_clean(api, None)
    if nav.status == 400:
        assert api.status == 400
        return
    assert nav.status == 302 and deletes(nav, gateway.cookie)
    assert api.status == 401 and api.json()["error"] == "reauthentication_required"


@pytest.mark.parametrize("target", [s for s in SPELLINGS if "\\" not in s])
def test_forward_auth_step_up_cannot_be_spelled_around(_live_loop: LiveLoop, target: str) -> None:
    """The same question from a trusted proxy's X-Original-URI: never a 200."""
    gateway = _live_loop.gateway("nextauth-v4", routes=ROUTES, trusted="127.0.0.1/32")
    old = ("Cookie", f"{gateway.cookie}={gateway.token(bob(auth_time=T0 - HOUR))}")
    response, seen = gateway.send("/_gateway/auth", [API, old, ("X-Original-URI", target)])
    assert seen is None
    assert_clean(response, None)
    assert response.status in (400, 401), (target, response.status)
    if response.status == 401:
        assert response.json()["error"] == "reauthentication_required"


def test_step_up_spellings_are_let_in_after_a_recent_sign_in(
    plain: dict[str, LiveGateway],
) -> None:
    """The control: the spellings that are not refused reach billing once signed in lately."""
    gateway = plain["nextauth-v4"]
    fresh = ("Cookie", f"{gateway.cookie}={gateway.token(bob(auth_time=T0 - 60))}")
    served = 0
    for target in SPELLINGS:
        response, seen = gateway.send(target.encode(), [API, fresh])
        assert_clean(response, seen)
        if response.status == 200:
            assert seen is not None and seen.raw_path.lower().startswith(("/billing", "/%ef"))
            served += 1
        else:
            assert response.status == 400, (target, response.status)
    assert served >= 20
