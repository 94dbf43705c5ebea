"""What a request carrying hostile session cookies must get back, checked in one place: the
documented 302 / 401 / pass, the exact deletions, no 5xx, nothing proxied that was refused."""

from __future__ import annotations

import re

from tests.support.live import LiveGateway
from tests.support.wire import RawResponse

NAV = ("Accept", "text/html")
API = ("Accept", "application/json")
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
ERRORS = {
    "invalid": "invalid_session",
    "expired": "session_expired",
    "unauthenticated": "unauthenticated",
}
FLAVORS = ("nextauth-v4", "authjs-v5")


TOKEN_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def family(base: str, lines: list[str]) -> set[str]:
    """The session cookie names (both variants, chunks and bad chunks) a request carries and
    the gateway can write back: a name that is not an RFC 6265 token is never echoed."""
    names = set()
    for line in lines:
        for piece in line.split(";"):
            name = piece.partition("=")[0].strip(" \t")
            for variant in (base, "__Secure-" + base):
                if (name == variant or name.startswith(variant + ".")) and TOKEN_NAME.fullmatch(
                    name
                ):
                    names.add(name)
    return names


def deleted(response: RawResponse) -> set[str]:
    names = set()
    for line in response.set_cookies:
        name, _, rest = line.partition("=")
        assert rest.startswith(";") and "Max-Age=0" in rest, "only deletions expected"
        names.add(name)
    return names


def assert_decision(gateway: LiveGateway, lines: list[str], decision: str) -> None:
    cookies = [("Cookie", line) for line in lines]
    nav, nav_seen = gateway.send("/reports", [NAV, *cookies])
    api, api_seen = gateway.send("/reports", [API, *cookies])
    public, public_seen = gateway.send("/login", [API, *cookies])
    assert max(nav.status, api.status, public.status) < 500
    if decision == "refused":
        assert {nav.status, api.status, public.status} <= {400, 431}
        assert (nav_seen, api_seen, public_seen) == (None, None, None)
        return
    if decision == "valid":
        assert (nav.status, api.status, public.status) == (200, 200, 200)
        assert nav_seen is not None and nav_seen.headers["X-Auth-Request-User"] == "user-bob"
        assert not nav.set_cookies
        return
    assert (nav_seen, api_seen) == (None, None)
    assert nav.status == 302 and nav.headers["Location"].startswith("/login?callbackUrl=")
    assert api.status == 401 and api.json() == {"error": ERRORS[decision]}
    assert f'error="{ERRORS[decision]}"' in api.headers["WWW-Authenticate"]
    assert nav.headers["Cache-Control"] == api.headers["Cache-Control"] == "private, no-store"
    assert public.status == 200 and public_seen is not None
    base = gateway.cookie
    forwarded = public_seen.headers.get("Cookie", "")
    assert not [p for p in forwarded.split("; ") if p.startswith((base, "__Secure-" + base))]
    expected = family(base, lines) if decision in ("invalid", "expired") else set()
    assert deleted(nav) == deleted(api) == deleted(public) == expected
