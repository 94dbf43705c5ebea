"""Traffic of every kind through a running gateway: one request per auth decision, one that
fails upstream, and a poll of the app's session endpoint on a passive route, whose re-issued
cookie the gateway holds back. Cookies are minted with the gateway's own codec and the
config's secret, as the app (NextAuth) would write them, with the sign-in time the gateway
stamps."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from gateway.session.token import SessionCodec
from tests.deploy.support import http_get

SECRET = "deploy-live-secret-0123456789abcdefghijklmnopq"
COOKIE = "next-auth.session-token"
TOKEN_LIFETIME = 30 * 86400  # NextAuth's default maxAge: only the gateway's policy expires it

CONFIG = """
listen: 127.0.0.1:{proxy}
metrics_listen: 127.0.0.1:{metrics}
upstream: http://127.0.0.1:{upstream}
session: {{flavor: nextauth-v4, cookie: {cookie}, secrets: ["{secret}"], role_claim: role}}
login: {{url: /login}}
policies:
  admin:   {{max_age: 2h, update_age: 1h, absolute_max_age: 12h}}
  general: {{max_age: 1d, update_age: 6h}}
default_policy: general
routes:
  - {{name: session, path: /api/auth/session, public: true, activity: false}}
  - {{name: login,  path: /login,   public: true}}
  - {{name: billing, path: /billing/, max_auth_age: 15m}}
  - {{name: broken, path: /broken/, public: true, upstream: "http://127.0.0.1:{closed}"}}
  - {{name: admin,  path: /admin/,  roles: [admin]}}
  - {{name: api,    path: /api/,    unauthenticated: 401}}
  - {{name: app,    path: /}}
log: {{level: warning}}
"""


@dataclass(frozen=True)
class Case:
    """One request: what it sends, and what the gateway must decide and answer."""

    decision: str
    route: str
    path: str
    status: int
    role: str | None = None  # None: no cookie; "garbage": an undecryptable one
    age: int = 60  # seconds since the cookie was written (iat)
    signed_in: int | None = None  # seconds since the sign-in (auth_time); None: at iat
    reissued: bool = False  # the upstream re-issues the cookie (NextAuth's session endpoint)


CASES = [
    Case("public", "login", "/login", 200),
    Case("unauthenticated", "api", "/api/me", 401),
    Case("invalid", "api", "/api/me", 401, role="garbage"),
    Case("expired", "api", "/api/me", 401, role="admin", age=3 * 3600),  # past max_age 2h
    Case("forbidden", "admin", "/admin/", 403, role="general"),
    Case("allowed", "admin", "/admin/", 200, role="admin"),
    Case("refreshed", "admin", "/admin/", 200, role="admin", age=90 * 60),  # past update_age
    Case("public", "broken", "/broken/x", 502),  # nothing listens there: a connect error
    Case("step_up", "billing", "/billing/x", 401, role="general", signed_in=3600),  # > 15m
    # Due for a renewal, but polled: the upstream re-issues, the gateway keeps the iat.
    Case("public", "session", "/api/auth/session", 200, role="admin", age=90 * 60, reissued=True),
]


def cookie(case: Case, now: float) -> dict[str, str]:
    if case.role is None:
        return {}
    if case.role == "garbage":
        return {"Cookie": f"{COOKIE}=not-a-jwe"}
    iat = int(now) - case.age
    auth_time = iat if case.signed_in is None else int(now) - case.signed_in
    claims: dict[str, Any] = {"sub": f"user-{case.role}", "role": case.role, "auth_time": auth_time}
    token = SessionCodec("nextauth-v4", (SECRET,)).encode(
        claims, COOKIE, now=iat, max_age=TOKEN_LIFETIME
    )
    return {"Cookie": f"{COOKIE}={token}"}


def send_all(proxy_port: int) -> None:
    """Every case once; each answer checked, so the metrics count what was meant."""
    for case in CASES:
        now = time.time()
        headers = {"Accept": "application/json"} | cookie(case, now)
        status, answer, _ = http_get(proxy_port, case.path, headers)
        assert status == case.status, f"{case}: {status}"
        written = [h for h in answer.get_all("Set-Cookie") or [] if h.startswith(COOKIE + "=")]
        live = [h for h in written if not h.startswith(COOKIE + "=;")]  # not a deletion
        assert bool(live) is (case.decision == "refreshed" or case.reissued), case
        if case.reissued:
            value = live[0].split(";")[0].split("=", 1)[1]
            claims = SessionCodec("nextauth-v4", (SECRET,)).decode(value, COOKIE).claims
            assert claims["iat"] == int(now) - case.age, case  # held back, not moved


def expected_decisions(rounds: int) -> dict[str, int]:
    return {kind: n * rounds for kind, n in Counter(c.decision for c in CASES).items()}
