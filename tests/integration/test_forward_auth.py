"""Forward-auth mode (`/_gateway/auth`): the pipeline's decision, answered to a proxy."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import T0
from tests.support.harness import Harness, MakeHarness

COOKIE = "next-auth.session-token"
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
NAV = {"Accept": "text/html"}


@pytest.fixture
async def proxied(harness_factory: MakeHarness) -> Harness:
    return await harness_factory(trusted="127.0.0.1/32")


def asking(uri: str, token: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"X-Original-URI": uri, **extra}
    if token:
        headers["Cookie"] = f"{COOKIE}={token}"
    return headers


async def test_allowed_answers_200_with_identity(proxied: Harness) -> None:
    token = proxied.token(BOB, iat=T0 - 60)
    response = await proxied.client.get("/_gateway/auth", headers=asking("/reports", token))
    assert response.status == 200
    assert response.headers["X-Auth-Request-User"] == "user-bob"
    assert "Set-Cookie" not in response.headers
    assert proxied.recorder.requests == []


async def test_renewal_comes_as_set_cookie_and_numbered_copies(proxied: Harness) -> None:
    token = proxied.token(BOB, iat=T0 - 7 * 3600)
    response = await proxied.client.get("/_gateway/auth", headers=asking("/", token))
    assert response.status == 200
    cookies = response.headers.getall("Set-Cookie")
    assert cookies == [response.headers["X-Gateway-Cookie-0"]]
    assert proxied.decode(cookies[0].split(";")[0].split("=", 1)[1])["iat"] == T0


async def test_no_session_is_401_with_a_login_hint(proxied: Harness) -> None:
    response = await proxied.client.get("/_gateway/auth", headers=asking("/reports?x=1"))
    assert response.status == 401
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["callbackUrl"] == ["/reports?x=1"]


async def test_redirect_mode_sends_browsers_to_login(proxied: Harness) -> None:
    headers = asking("/", **NAV, **{"X-Forwarded-Method": "GET"})
    response = await proxied.client.get(
        "/_gateway/auth?redirect=true", headers=headers, allow_redirects=False
    )
    assert response.status == 302
    api = await proxied.client.get(
        "/_gateway/auth?redirect=true",
        headers=asking("/", Accept="application/json"),
        allow_redirects=False,
    )
    assert api.status == 401


async def test_expired_session_is_deleted_through_the_proxy(proxied: Harness) -> None:
    token = proxied.token(BOB, iat=T0 - 2 * 86400, max_age=30 * 86400)
    response = await proxied.client.get("/_gateway/auth", headers=asking("/", token))
    assert response.status == 401
    assert "Max-Age=0" in response.headers["X-Gateway-Cookie-0"]
    assert response.headers["Set-Cookie"] == response.headers["X-Gateway-Cookie-0"]


async def test_forbidden_is_403(proxied: Harness) -> None:
    token = proxied.token(BOB, iat=T0 - 60)
    response = await proxied.client.get("/_gateway/auth", headers=asking("/admin/x", token))
    assert response.status == 403


async def test_untrusted_peers_cannot_choose_the_path(gw: Harness) -> None:
    token = gw.token(BOB, iat=T0 - 60)
    response = await gw.client.get("/_gateway/auth", headers=asking("/admin/x", token))
    assert response.status == 200  # asked about GET / instead, which bob may open


async def test_path_tricks_in_the_original_uri_are_normalised(proxied: Harness) -> None:
    token = proxied.token(BOB, iat=T0 - 60)
    tricky = await proxied.client.get(
        "/_gateway/auth", headers=asking("/public/..%2fADMIN/x", token)
    )
    assert tricky.status == 403
    bad = await proxied.client.get("/_gateway/auth", headers=asking("/a/%00", token))
    assert bad.status == 400


async def test_api_routes_answer_401_even_in_redirect_mode(proxied: Harness) -> None:
    response = await proxied.client.get(
        "/_gateway/auth?redirect=true", headers=asking("/api/things", **NAV), allow_redirects=False
    )
    assert response.status == 401


async def test_two_different_original_uris_are_refused(proxied: Harness) -> None:
    token = proxied.token(BOB, iat=T0 - 60)
    response = await proxied.client.get(
        "/_gateway/auth", headers=asking("/admin/x", token, **{"X-Forwarded-Uri": "/"})
    )
    assert response.status == 400


PREFLIGHT = {"Origin": "https://other.example", "Access-Control-Request-Method": "POST"}


@pytest.mark.parametrize(("setting", "status"), [("pass", 200), ("authenticate", 401)])
async def test_a_cors_preflight_is_answered_as_the_proxied_one(
    harness_factory: MakeHarness, setting: str, status: int
) -> None:
    """The proxy sends the original request's headers: with ``preflight: pass`` a preflight
    the route would refuse is allowed, as it would be through the gateway itself."""
    gw = await harness_factory(trusted="127.0.0.1/32", extra=f"preflight: {setting}")
    headers = asking("/api/things", **PREFLIGHT, **{"X-Forwarded-Method": "OPTIONS"})
    response = await gw.client.get("/_gateway/auth", headers=headers)
    assert response.status == status
    as_get = asking("/api/things", **PREFLIGHT, **{"X-Forwarded-Method": "GET"})
    assert (await gw.client.get("/_gateway/auth", headers=as_get)).status == 401
    assert gw.recorder.requests == []
