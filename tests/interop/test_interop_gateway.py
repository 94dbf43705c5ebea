"""The gateway between the real packages: tokens minted by next-auth / @auth/core pass through
it, and the cookies it renews are read back by the packages' own decode and SessionStore."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest

from gateway.config import Flavor
from tests.support import T0
from tests.support.harness import OLD_SECRET, SECRET, Harness, MakeHarness
from tests.support.nextauth import NextAuth

pytestmark = pytest.mark.interop
V4: Flavor = "nextauth-v4"
V5: Flavor = "authjs-v5"
CLAIMS: dict[str, Any] = {
    "sub": "user-7",
    "name": "Zoë Ünïcode",
    "email": "z@example.com",
    "role": "general",
    "groups": ["a", "b"],
    "org": {"id": 3, "tier": "x"},
}
DUE = T0 - 7 * 3600  # the general policy renews after 6h


def salt(flavor: str, name: str) -> str | None:
    """v4 session cookies are keyed without a salt; v5 salts with the cookie name."""
    return name if flavor == V5 else None


def cookie_header(set_cookies: list[str]) -> str:
    """The Cookie header a browser sends after these Set-Cookie lines."""
    pairs = []
    for line in set_cookies:
        jar: SimpleCookie = SimpleCookie()
        jar.load(line)
        pairs += [f"{name}={morsel.value}" for name, morsel in jar.items() if morsel.value]
    return "; ".join(pairs)


@pytest.mark.parametrize(
    ("flavor", "name"),
    [
        (V4, "next-auth.session-token"),
        (V4, "__Secure-next-auth.session-token"),
        (V5, "authjs.session-token"),
        (V5, "__Secure-authjs.session-token"),
    ],
)
async def test_renewal_of_a_real_token_is_read_by_the_real_package(
    harness_factory: MakeHarness, nextauth: NextAuth, flavor: Flavor, name: str
) -> None:
    gw = await harness_factory(flavor=flavor)
    token = nextauth.encode(
        flavor, CLAIMS, secrets=[SECRET], salt=salt(flavor, name), iat=DUE, max_age=30 * 86400
    )
    response = await gw.client.get("/", headers={"Cookie": f"{name}={token}"})
    assert response.status == 200
    set_cookies = response.headers.getall("Set-Cookie")
    assert all(line.startswith(name) for line in set_cookies)
    assert ("Secure" in set_cookies[0]) is name.startswith("__Secure-")
    renewed = nextauth.read(flavor, name, cookie_header(set_cookies))
    claims = nextauth.decode(flavor, renewed, secrets=[SECRET], salt=salt(flavor, name), now=T0)
    assert {k: claims[k] for k in CLAIMS} == CLAIMS
    assert (claims["iat"], claims["exp"], claims["auth_time"]) == (T0, T0 + 86400, DUE)


@pytest.mark.parametrize("flavor", [V4, V5])
async def test_chunked_both_ways(
    harness_factory: MakeHarness, nextauth: NextAuth, flavor: Flavor
) -> None:
    gw = await harness_factory(flavor=flavor)
    name = gw.config.session.cookie
    big = {**CLAIMS, "groups": [f"group-{i:04d}" for i in range(900)]}
    token = nextauth.encode(flavor, big, secrets=[SECRET], salt=salt(flavor, name), iat=DUE)
    their_chunks = nextauth.chunk(flavor, name, token)
    assert len(their_chunks) >= 3
    response = await gw.client.get("/", headers={"Cookie": cookie_header(their_chunks)})
    assert response.status == 200
    assert gw.recorder.last.headers["X-Auth-Request-User"] == "user-7"
    ours = response.headers.getall("Set-Cookie")
    assert len(ours) == len(their_chunks)
    renewed = nextauth.read(flavor, name, cookie_header(ours))
    claims = nextauth.decode(flavor, renewed, secrets=[SECRET], salt=salt(flavor, name), now=T0)
    assert claims["groups"] == big["groups"] and claims["iat"] == T0


async def test_v5_rotation_old_secret_accepted_and_renewed_with_the_first(
    harness_factory: MakeHarness, nextauth: NextAuth
) -> None:
    gw = await harness_factory(flavor=V5, secrets=(SECRET, OLD_SECRET))
    name = "authjs.session-token"
    token = nextauth.encode(V5, CLAIMS, secrets=[OLD_SECRET], salt=name, iat=T0 - 60)
    response = await gw.client.get("/", headers={"Cookie": f"{name}={token}"})
    assert response.status == 200
    renewed = SimpleCookie(response.headers["Set-Cookie"])[name].value
    claims = nextauth.decode(V5, renewed, secrets=[SECRET], salt=name, now=T0)
    assert claims["sub"] == "user-7"


@pytest.mark.parametrize(
    ("gateway_flavor", "token_flavor", "secret"),
    [
        (V4, V4, "another-secret-another-secret-another-secret"),
        (V5, V5, "another-secret-another-secret-another-secret"),
        (V4, V5, SECRET),
        (V5, V4, SECRET),
    ],
    ids=["v4-other-secret", "v5-other-secret", "v5-token-at-v4", "v4-token-at-v5"],
)
async def test_foreign_tokens_are_refused(
    harness_factory: MakeHarness,
    nextauth: NextAuth,
    gateway_flavor: Flavor,
    token_flavor: Flavor,
    secret: str,
) -> None:
    gw = await harness_factory(flavor=gateway_flavor)
    name = gw.config.session.cookie
    salt = "authjs.session-token" if token_flavor == V5 else None
    token = nextauth.encode(token_flavor, CLAIMS, secrets=[secret], salt=salt, iat=T0 - 60)
    response = await gw.client.get(
        "/x", headers={"Cookie": f"{name}={token}", "Accept": "application/json"}
    )
    assert response.status == 401
    assert await response.json() == {"error": "invalid_session"}
    assert gw.recorder.requests == []


async def test_a_fresh_real_token_passes_without_renewal(
    harness_factory: MakeHarness, nextauth: NextAuth
) -> None:
    gw: Harness = await harness_factory()
    token = nextauth.encode(V4, CLAIMS, secrets=[SECRET], iat=T0 - 60)
    response = await gw.client.get("/", headers={"Cookie": f"next-auth.session-token={token}"})
    assert response.status == 200 and "Set-Cookie" not in response.headers
    assert gw.recorder.last.headers["X-Auth-Request-Email"] == "z@example.com"
