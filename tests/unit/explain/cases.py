"""The cookies ``gateway explain`` is asked about in these tests, all at one fixed moment
(:data:`AT`), and the config they are read under; :func:`run` explains one of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from gateway.config import GatewayConfig, load_config_text
from gateway.explain import Explanation, explain
from gateway.session.stage import SessionStage
from gateway.session.token import SessionCodec

SECRET = "explain-secret-0123456789abcdef-0123456789abcdef"
OLD_SECRET = "explain-old-secret-abcdefghijklmnop-0123456789"
AT = 1_800_000_000  # 2027-01-15T08:00:00Z
HOUR, DAY = 3600, 86400

CONFIG = """
listen: 127.0.0.1:8080
metrics_listen: 127.0.0.1:9091
upstream: http://127.0.0.1:3000
session:
  flavor: {flavor}
  secrets: {secrets}
  role_claim: role
login: {{url: /login, callback_param: callbackUrl}}
policies:
  admin:   {{max_age: 2h, update_age: 1h, absolute_max_age: 12h}}
  kiosk:   {{max_age: 10m}}
  general: {{max_age: 1d, update_age: 6h}}
default_policy: general
routes:
  - {{name: nextauth, path: /api/auth/, public: true}}
  - {{name: login,    path: /login,     public: true}}
  - {{name: admin,    path: /admin/,    roles: [admin]}}
  - {{name: api,      path: /api/,      unauthenticated: 401}}
  - {{name: app,      path: {catch_all}}}
"""


@cache
def config(
    flavor: str = "nextauth-v4", secrets: tuple[str, ...] = (SECRET,), catch_all: str = "/"
) -> GatewayConfig:
    text = CONFIG.format(flavor=flavor, secrets=json.dumps(list(secrets)), catch_all=catch_all)
    return load_config_text(text, "t.yaml", env={})


def token(
    claims: dict[str, Any],
    *,
    iat: int,
    max_age: int = 30 * DAY,
    flavor: str = "nextauth-v4",
    secret: str = SECRET,
    name: str | None = None,
) -> str:
    cookie = name or config(flavor).session.cookie
    return SessionCodec(flavor, [secret]).encode(  # type: ignore[arg-type]
        {"sub": "u1", **claims}, cookie, now=iat, max_age=max_age
    )


def chunked_header(flavor: str, name: str, claims: dict[str, Any], iat: int) -> str:
    """A Cookie header as a browser sends a session too big for one cookie."""
    settings = config(flavor)
    value = token(claims, iat=iat, flavor=flavor, name=name)
    pairs = SessionStage(settings.session, settings.limits).chunks(name, value)
    assert len(pairs) == 2
    return "; ".join(f"{n}={v}" for n, v in [("theme", "dark"), *pairs])


@dataclass(frozen=True)
class Case:
    cookie: str
    path: str = "/"
    flavor: str = "nextauth-v4"
    secrets: tuple[str, ...] = (SECRET,)
    catch_all: str = "/"


PAD = {"pad": "x" * 4200}  # past one chunk in both flavors
CASES = {
    "fresh": Case(token({"role": "general"}, iat=AT - 60)),
    "due-for-renewal": Case(token({"role": "general"}, iat=AT - 7 * HOUR)),
    "idle-expired": Case(token({"role": "general"}, iat=AT - 25 * HOUR)),
    "exp-expired": Case(token({"role": "general"}, iat=AT - 60, max_age=30)),
    "absolute-expired": Case(token({"role": "admin", "auth_time": AT - 13 * HOUR}, iat=AT - 60)),
    "auth-time-missing": Case(token({"role": "admin"}, iat=AT - 60), path="/admin/users"),
    "static-session": Case(token({"role": ["viewer", "kiosk"]}, iat=AT - 60)),
    "forbidden-path": Case(token({"role": "general"}, iat=AT - 60), path="/ADMIN/x"),
    "dot-segments": Case(token({"role": "general"}, iat=AT - 60), path="/api/auth/../../admin"),
    "public-path": Case(
        token({"role": "general"}, iat=AT - 25 * HOUR), path="/api/auth/session?x=1"
    ),
    "chunked-header": Case(
        chunked_header(
            "nextauth-v4", "next-auth.session-token", {"role": "general", **PAD}, AT - 60
        )
    ),
    "secure-preferred": Case(
        chunked_header(
            "authjs-v5",
            "__Secure-authjs.session-token",
            {"role": "admin", "auth_time": AT - HOUR, **PAD},
            AT - 60,
        )
        + "; authjs.session-token=stale-plain-one",
        path="/admin",
        flavor="authjs-v5",
    ),
    "v5-bare-secure-token": Case(
        token(
            {"role": "general"},
            iat=AT - 60,
            flavor="authjs-v5",
            name="__Secure-authjs.session-token",
        ),
        flavor="authjs-v5",
    ),
    "old-secret-v5": Case(
        token({"role": "general"}, iat=AT - 60, flavor="authjs-v5", secret=OLD_SECRET),
        flavor="authjs-v5",
        secrets=(SECRET, OLD_SECRET),
    ),
    "wrong-secret": Case(token({"role": "general"}, iat=AT - 60, secret=OLD_SECRET)),
    "garbage": Case("garbage", path="/api/users"),
    "no-session-cookie": Case("Cookie: theme=dark; lang=en"),
    "chunk-gap": Case("next-auth.session-token.0=abc; next-auth.session-token.2=def"),
    "no-route": Case(token({"role": "general"}, iat=AT - 60), path="/elsewhere", catch_all="/app/"),
    "bad-path": Case(token({"role": "general"}, iat=AT - 60), path="/a/../../etc"),
}


def run(case_id: str) -> Explanation:
    case = CASES[case_id]
    return explain(config(case.flavor, case.secrets, case.catch_all), case.cookie, case.path, AT)
