"""A known mix of requests, one of every outcome, for the metrics and access-log tests.

Each :class:`Sent` says what the gateway must have done with it, so the tests can compare the
counters and the log lines against one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from tests.support import T0, free_port
from tests.support.harness import Harness, MakeHarness

COOKIE = "next-auth.session-token"
API = {"Accept": "application/json"}
BOB = {"sub": "user-bob", "email": "bob@example.com", "role": "general"}
ALICE = {"sub": "user-alice", "email": "alice@example.com", "role": "admin"}
# In every request's query: it must never reach a log line.
QUERY_SECRET = "query-secret-9f3b1c"
GARBAGE = "not-a-token-but-a-cookie-value-7d2e"


def mix_routes() -> list[str]:
    return [
        "name: nextauth, path: /api/auth/, public: true",
        "name: login,    path: /login,     public: true",
        "name: admin,    path: /admin/,    roles: [admin]",
        "name: api,      path: /api/,      unauthenticated: 401",
        f'name: dead,     path: /dead/,     upstream: "http://127.0.0.1:{free_port()}"',
        "name: app,      path: /app/",
    ]


async def mix_harness(harness_factory: MakeHarness, extra: str = "") -> Harness:
    return await harness_factory(routes=mix_routes(), extra=extra)


@dataclass(frozen=True)
class Sent:
    """One request of the mix and what must come of it."""

    case: str
    method: str
    path: str  # without the query
    status: int
    route: str
    decision: str | None  # None: no decision taken (no route, bad path)
    policy: str | None
    sub: str | None = None
    proxied: bool = False
    age: int | None = None  # now - iat of the session, when one decoded


@dataclass(frozen=True)
class Case:
    sent: Sent
    claims: Mapping[str, object] | None = None  # mint a session cookie with these
    iat: int = T0 - 60
    max_age: int = 86400
    cookie: str | None = None  # a raw cookie value instead


CASES = [
    Case(
        Sent("allowed", "GET", "/app/a", 200, "app", "allowed", "general", "user-bob", True, 60),
        BOB,
    ),
    Case(
        Sent(
            "refreshed",
            "GET",
            "/app/b",
            200,
            "app",
            "refreshed",
            "general",
            "user-bob",
            True,
            7 * 3600,
        ),
        BOB,
        iat=T0 - 7 * 3600,
    ),
    Case(Sent("public", "GET", "/login", 200, "login", "public", None, proxied=True)),
    Case(
        Sent(
            "public-session",
            "GET",
            "/api/auth/session",
            200,
            "nextauth",
            "public",
            "admin",
            "user-alice",
            True,
            600,
        ),
        {**ALICE, "auth_time": T0 - 600},
        iat=T0 - 600,
    ),
    Case(Sent("other-method", "PROPFIND", "/login", 200, "login", "public", None, proxied=True)),
    Case(Sent("unauthenticated", "GET", "/app/c", 401, "app", "unauthenticated", None)),
    Case(Sent("invalid", "GET", "/app/d", 401, "app", "invalid", None), cookie=GARBAGE),
    Case(
        Sent("expired", "GET", "/app/e", 401, "app", "expired", "general", "user-bob", age=86401),
        BOB,
        iat=T0 - 86401,
        max_age=30 * 86400,
    ),
    Case(
        Sent(
            "forbidden", "GET", "/admin/f", 403, "admin", "forbidden", "general", "user-bob", age=60
        ),
        BOB,
    ),
    Case(Sent("not-found", "GET", "/nowhere", 404, "none", None, None), BOB),
    Case(Sent("bad-path", "GET", "/app/%00", 400, "none", None, None), BOB),
    Case(
        Sent(
            "upstream-down",
            "POST",
            "/dead/g",
            502,
            "dead",
            "allowed",
            "general",
            "user-bob",
            age=60,
        ),
        BOB,
    ),
    Case(
        Sent(
            "session-endpoint",
            "GET",
            "/_gateway/session",
            200,
            "_gateway",
            "allowed",
            "general",
            "user-bob",
            age=60,
        ),
        BOB,
    ),
]


async def send_mix(gw: Harness) -> list[tuple[Sent, str, Mapping[str, str]]]:
    """Send every case; return each with the cookie value it carried and the response's
    headers (case-insensitive)."""
    results: list[tuple[Sent, str, Mapping[str, str]]] = []
    for case in CASES:
        value = case.cookie
        if case.claims is not None:
            value = gw.token(dict(case.claims), iat=case.iat, max_age=case.max_age)
        headers = {**API, "Cookie": f"{COOKIE}={value}"} if value else API
        url = URL(f"{case.sent.path}?q={QUERY_SECRET}", encoded=True)
        gw.client.session.cookie_jar.clear()  # each case sends only its own cookie
        response = await gw.client.request(
            case.sent.method, url, headers=headers, allow_redirects=False
        )
        await response.read()
        assert response.status == case.sent.status, (case.sent.case, response.status)
        results.append((case.sent, value or "", response.headers))
    return results
