"""Traffic of every kind through a running gateway: one request per auth decision, and one
that fails upstream. Cookies are minted with the gateway's own codec and the config's secret,
as the app (NextAuth) would write them."""

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
  - {{name: login,  path: /login,   public: true}}
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


CASES = [
    Case("public", "login", "/login", 200),
    Case("unauthenticated", "api", "/api/me", 401),
    Case("invalid", "api", "/api/me", 401, role="garbage"),
    Case("expired", "api", "/api/me", 401, role="admin", age=3 * 3600),  # past max_age 2h
    Case("forbidden", "admin", "/admin/", 403, role="general"),
    Case("allowed", "admin", "/admin/", 200, role="admin"),
    Case("refreshed", "admin", "/admin/", 200, role="admin", age=90 * 60),  # past update_age
    Case("public", "broken", "/broken/x", 502),  # nothing listens there: a connect error
]


def cookie(case: Case, now: float) -> dict[str, str]:
    if case.role is None:
        return {}
    if case.role == "garbage":
        return {"Cookie": f"{COOKIE}=not-a-jwe"}
    iat = int(now) - case.age
    claims: dict[str, Any] = {"sub": f"user-{case.role}", "role": case.role, "auth_time": iat}
    token = SessionCodec("nextauth-v4", (SECRET,)).encode(
        claims, COOKIE, now=iat, max_age=TOKEN_LIFETIME
    )
    return {"Cookie": f"{COOKIE}={token}"}


def send_all(proxy_port: int) -> None:
    """Every case once; each answer checked, so the metrics count what was meant."""
    for case in CASES:
        headers = {"Accept": "application/json"} | cookie(case, time.time())
        status, answer, _ = http_get(proxy_port, case.path, headers)
        assert status == case.status, f"{case}: {status}"
        written = [h for h in answer.get_all("Set-Cookie") or [] if h.startswith(COOKIE + "=")]
        renewed = any(not h.startswith(COOKIE + "=;") for h in written)  # not a deletion
        assert renewed is (case.decision == "refreshed"), case


def expected_decisions(rounds: int) -> dict[str, int]:
    return {kind: n * rounds for kind, n in Counter(c.decision for c in CASES).items()}
