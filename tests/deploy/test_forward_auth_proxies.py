"""Forward-auth mode through Debian's real nginx and real Caddy, each running the shipped
example (deploy/nginx, deploy/caddy; only its ports changed) in front of the app stand-in and
the gateway (`python -m gateway run`). Every case a browser or an API client meets: allowed,
renewed (one cookie and a three-chunk one), expired, forbidden, no session, a sign-in too old
for a step-up route, a tab polling the app's session endpoint (sent through the gateway, which
keeps the iat of the app's re-issue), and a client posing as the proxy or as another user.
Traefik is not packaged: test_traefik_example.py."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.session.cookies import CHUNK_SIZE
from tests.deploy.proxies.stack import COOKIE, Stack, decode, running, token
from tests.deploy.support import http_get

PROXIES = ("nginx", "caddy")
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
IDENTITY = {
    "x-auth-request-user": "user-bob",
    "x-auth-request-email": "bob@example.com",
    "x-auth-request-role": "general",
}
PAGE = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate"}
API = {"Accept": "application/json"}
RENEW_AGE = 7 * 3600  # general: update_age 6h
EXPIRED_AGE = 2 * 86400  # general: max_age 1d
GENERAL_MAX_AGE = 86400
STEP_UP = 'Session realm="gateway", error="insufficient_user_authentication", max_age=900'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(tmp_path_factory.mktemp("forward-auth"), PROXIES) as live:
        yield live


@pytest.fixture(params=PROXIES)
def proxy(request: pytest.FixtureRequest, stack: Stack) -> int:
    port: int = stack.proxies[request.param]
    return port


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    def all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []

    def json(self) -> Any:
        return json.loads(self.body)

    def received(self) -> list[tuple[str, str]]:
        """The headers the app got (the stand-in echoes them), names lower-cased."""
        assert self.status == 200, f"{self.status} {self.body[:300]!r}"
        return [(name.lower(), value) for name, value in self.json()["headers"]]

    def set_cookies(self) -> dict[str, str]:
        """Set-Cookie lines by cookie name, each as ``value; attributes``."""
        pairs = (line.split("=", 1) for line in self.all("Set-Cookie"))
        return {name: rest for name, rest in pairs}


def get(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    session: str | None = None,
) -> Answer:
    headers = dict(headers or {})
    if session is not None:
        headers["Cookie"] = f"{COOKIE}={session}"
    status, message, body = http_get(port, path, headers, method=method)
    return Answer(status, message, body)


def login_target(answer: Answer) -> str:
    """The callbackUrl of a redirect to the login page."""
    assert answer.status == 302, f"{answer.status} {answer.body[:300]!r}"
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/login"
    [target] = parse_qs(location.query)["callbackUrl"]
    return target


def test_allowed_request_reaches_the_app_with_identity(proxy: int) -> None:
    answer = get(proxy, "/reports?tab=1", PAGE, session=token(BOB, 60))
    received = answer.received()
    assert {n: v for n, v in received if n in IDENTITY} == IDENTITY
    assert answer.json()["path"] == "/reports?tab=1"
    assert answer.all("Set-Cookie") == []  # nginx: empty cookie copies add nothing
    assert not any("no-store" in v for v in answer.all("Cache-Control"))


def test_renewed_cookie_reaches_the_browser(proxy: int) -> None:
    answer = get(proxy, "/reports", PAGE, session=token(BOB, RENEW_AGE))
    assert {n: v for n, v in answer.received() if n in IDENTITY} == IDENTITY
    cookies = answer.set_cookies()
    assert list(cookies) == [COOKIE]
    claims = decode(cookies[COOKIE].split(";")[0])
    assert claims["sub"] == "user-bob"
    assert claims["iat"] > decode(token(BOB, 60))["iat"] - 60  # written now, not 7h ago
    assert any("no-store" in v for v in answer.all("Cache-Control"))


def test_chunked_renewal_reaches_the_browser_whole(proxy: int) -> None:
    """A three-chunk cookie renewed: three Set-Cookie lines must come through (nginx keeps
    one Set-Cookie from an auth answer; the example takes the numbered copies)."""
    size = CHUNK_SIZE["nextauth-v4"]
    value = token({**BOB, "groups": "g" * 2 * size}, RENEW_AGE)
    assert 2 * size < len(value) <= 3 * size
    chunks = "; ".join(f"{COOKIE}.{i}={value[i * size : (i + 1) * size]}" for i in range(3))
    answer = get(proxy, "/reports", {**PAGE, "Cookie": chunks})
    assert {n: v for n, v in answer.received() if n in IDENTITY} == IDENTITY
    cookies = answer.set_cookies()
    assert sorted(cookies) == [f"{COOKIE}.{i}" for i in range(3)]
    renewed = "".join(cookies[f"{COOKIE}.{i}"].split(";")[0] for i in range(3))
    claims = decode(renewed)
    assert claims["groups"] == "g" * 2 * size
    assert claims["iat"] > decode(value)["iat"] + RENEW_AGE - 60


def test_expired_session_goes_to_login_and_is_deleted(proxy: int) -> None:
    answer = get(proxy, "/reports?tab=1", PAGE, session=token(BOB, EXPIRED_AGE))
    assert login_target(answer) == "/reports?tab=1"
    assert answer.set_cookies()[COOKIE].startswith("; Max-Age=0")


def test_expired_session_is_deleted_on_a_public_page(proxy: int) -> None:
    answer = get(proxy, "/login", PAGE, session=token(BOB, EXPIRED_AGE))
    assert not any(n in IDENTITY for n, _ in answer.received())
    assert answer.set_cookies()[COOKIE].startswith("; Max-Age=0")


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (PAGE, b"403 Forbidden"),
        (API, b'{"error": "forbidden"}'),
    ],
    ids=["page", "api"],
)
def test_forbidden_role_gets_the_gateways_403(
    proxy: int, headers: dict[str, str], body: bytes
) -> None:
    answer = get(proxy, "/admin/users", headers, session=token(BOB, 60))
    assert answer.status == 403
    assert body in answer.body


def test_no_session_page_navigation_goes_to_login(proxy: int) -> None:
    answer = get(proxy, "/reports?tab=1", PAGE)
    assert login_target(answer) == "/reports?tab=1"
    assert answer.all("Set-Cookie") == []


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/reports", API),
        ("POST", "/reports", PAGE),  # a form post is not a navigation the gateway may redirect
        ("GET", "/api/items", API),
    ],
    ids=["api-call", "post", "api-route"],
)
def test_no_session_api_call_gets_401(
    proxy: int, method: str, path: str, headers: dict[str, str]
) -> None:
    answer = get(proxy, path, headers, method=method)
    assert answer.status == 401
    assert answer.json() == {"error": "unauthenticated"}
    assert answer.all("WWW-Authenticate") == ['Session realm="gateway", error="unauthenticated"']


SPOOFED = {
    "X-Auth-Request-User": "user-admin",
    "x-auth-request-role": "admin",
    "X_Auth_Request_User": "user-admin",  # PHP, WSGI and Rack read this as the header above
    "X-Auth_Request-Role": "admin",
}


def folded(name: str) -> str:
    return name.lower().replace("_", "-")


def test_spoofed_identity_never_reaches_the_app(proxy: int) -> None:
    answer = get(proxy, "/reports", {**PAGE, **SPOOFED}, session=token(BOB, 60))
    identity = [(n, v) for n, v in answer.received() if folded(n) in IDENTITY]
    assert sorted(identity) == sorted(IDENTITY.items())


def test_spoofed_identity_is_dropped_without_a_session(proxy: int) -> None:
    answer = get(proxy, "/login", {**PAGE, **SPOOFED})
    assert [n for n, _ in answer.received() if folded(n) in IDENTITY] == []


def test_client_cannot_choose_the_question(proxy: int) -> None:
    """The gateway reads the original request from headers it believes from the proxy;
    the proxy must set (or drop) every spelling, or bob would ask about `/` and get in."""
    posing = {header: "/" for header in ("X-Original-URI", "X-Forwarded-Uri")}
    posing |= {header: "GET" for header in ("X-Original-Method", "X-Forwarded-Method")}
    answer = get(proxy, "/admin/users", {**API, **posing}, session=token(BOB, 60))
    assert answer.status == 403


def test_client_cannot_choose_the_request_id(proxy: int) -> None:
    """The gateway logs the id a trusted proxy sends: the proxy must write its own."""
    refused = get(proxy, "/reports", {**API, "X-Request-Id": "chosen-by-client"})
    assert refused.status == 401
    assert refused.headers["X-Request-Id"] not in ("", "chosen-by-client")
    allowed = get(
        proxy, "/reports", {**API, "X-Request-Id": "chosen-by-client"}, session=token(BOB, 60)
    )
    assert [v for n, v in allowed.received() if n == "x-request-id"] != ["chosen-by-client"]


def test_nginx_never_lets_a_client_ask_the_gateway(stack: Stack) -> None:
    answer = get(
        stack.proxies["nginx"], "/_gateway/auth", {"X-Original-URI": "/"}, session=token(BOB, 60)
    )
    assert answer.status == 404
    assert "X-Auth-Request-User" not in answer.headers


def test_session_endpoint_is_served_by_the_gateway(proxy: int) -> None:
    answer = get(proxy, "/_gateway/session", API, session=token(BOB, RENEW_AGE))
    assert answer.status == 200
    assert answer.json()["subject"] == "user-bob"
    assert answer.all("Set-Cookie") == []  # reading the session never renews it


def test_the_apps_session_endpoint_goes_through_the_gateway(proxy: int) -> None:
    """A poll of the app's session endpoint reaches the app through the gateway, as a proxy
    (the identity headers are its own: nothing asked about this request), and the cookie
    the app re-issues on it comes back with the request's iat: the poll moved no idle
    clock, though the session was due for a renewal."""
    polled = token(BOB, RENEW_AGE)
    answer = get(proxy, "/api/auth/session", API, session=polled)
    assert {n: v for n, v in answer.received() if n in IDENTITY} == IDENTITY
    cookies = answer.set_cookies()
    assert list(cookies) == [COOKIE]
    value, _, attributes = cookies[COOKIE].partition(";")
    before, after = decode(polled), decode(value)
    assert after["iat"] == before["iat"]  # the app wrote a fresh one; the gateway kept it
    assert after["exp"] == before["iat"] + GENERAL_MAX_AGE  # not the app's 30 days
    assert after["jti"] != before["jti"]  # the app's cookie, rewritten
    [expires] = [a.split("=", 1)[1] for a in attributes.split("; ") if a.startswith("Expires=")]
    assert email.utils.parsedate_to_datetime(expires).timestamp() == after["exp"]
    assert any("no-store" in v for v in answer.all("Cache-Control"))


def test_the_apps_session_endpoint_signed_out(proxy: int) -> None:
    answer = get(proxy, "/api/auth/session", API)
    assert not any(n in IDENTITY for n, _ in answer.received())
    assert answer.all("Set-Cookie") == []


def signed_in_long_ago() -> str:
    """A session written a minute ago, but signed in an hour ago (billing: max_auth_age 15m)."""
    return token({**BOB, "auth_time": int(time.time()) - 3600}, 60)


def test_step_up_sends_a_page_to_sign_in_again(proxy: int) -> None:
    answer = get(proxy, "/billing/invoices?year=1", PAGE, session=signed_in_long_ago())
    assert login_target(answer) == "/billing/invoices?year=1"
    assert answer.set_cookies()[COOKIE].startswith("; Max-Age=0")  # the login page asks anew


def test_step_up_answers_an_api_call_with_401(proxy: int) -> None:
    answer = get(proxy, "/billing/invoices", API, session=signed_in_long_ago())
    assert answer.status == 401
    assert answer.json() == {"error": "reauthentication_required", "max_auth_age": 900}
    assert answer.all("WWW-Authenticate") == [STEP_UP]
    assert answer.all("Set-Cookie") == []  # a background call does not sign the user out


def test_a_recent_sign_in_reaches_the_step_up_route(proxy: int) -> None:
    answer = get(proxy, "/billing/invoices", PAGE, session=token(BOB, 60))
    assert {n: v for n, v in answer.received() if n in IDENTITY} == IDENTITY
