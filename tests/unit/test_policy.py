"""The decision table (gateway.policy.evaluate) with a fixed clock, one row per case: no
session, then sessions refused (unreadable chunks or claims, an iat in the future, a bad
auth_time), expired (exp past the skew, idle, the hard cap), forbidden by the route's roles,
renewed (update_age, a missing auth_time, an old secret), and static policies."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.config import (
    Address,
    GatewayConfig,
    Policy,
    Route,
    SessionSettings,
    Upstream,
)
from gateway.policy import Decision, Kind, evaluate, policy_for, renewed_claims
from gateway.session import Session, SessionRead

NOW = 1_800_000_000
UP = Upstream("http", "127.0.0.1", 3000)
ADMIN = Policy("admin", max_age=7200, update_age=3600, absolute_max_age=43200)
GENERAL = Policy("general", max_age=86400, update_age=21600)
STATIC = Policy("kiosk", max_age=600)
APP = Route("app", "/", "", UP)
ADMIN_ROUTE = Route("admin", "/admin/", "/admin", UP, roles=("admin",))
PUBLIC = Route("auth", "/api/auth/", "/api/auth", UP, public=True)
CONFIG = GatewayConfig(
    source="t.yaml",
    sha256="0" * 64,
    listen=Address("127.0.0.1", 8080),
    metrics_listen=Address("127.0.0.1", 9091),
    upstream=UP,
    session=SessionSettings("nextauth-v4", "next-auth.session-token", ("s" * 32,)),
    policies=(ADMIN, GENERAL, STATIC),
    default_policy="general",
    routes=(ADMIN_ROUTE, PUBLIC, APP),
)


def session(age: float, secret_index: int = 0, **claims: Any) -> SessionRead:
    base = {"sub": "u1", "iat": NOW - age, "exp": NOW - age + 30 * 86400, **claims}
    return SessionRead(
        Session(
            {k: v for k, v in base.items() if v is not None},
            "next-auth.session-token",
            secret_index,
        )
    )


def decide(read: SessionRead, route: Route = APP) -> Decision:
    return evaluate(read, route, CONFIG, NOW)


CASES = [
    ("no-cookie", SessionRead(), APP, Kind.UNAUTHENTICATED, "no_cookie"),
    ("bad-chunks", SessionRead(problem="gap"), APP, Kind.INVALID, "gap"),
    ("no-iat", session(0, iat=None), APP, Kind.INVALID, "claims"),
    ("bool-exp", session(0, exp=True), APP, Kind.INVALID, "claims"),
    ("huge-iat", session(0, iat=10**400), APP, Kind.INVALID, "claims"),
    ("iat-future", session(-3600), APP, Kind.INVALID, "iat_future"),
    ("exp-past-skew", session(60, exp=NOW - 15), APP, Kind.EXPIRED, "exp"),
    ("exp-within-skew", session(60, exp=NOW - 14), APP, Kind.ALLOWED, "valid"),
    ("idle", session(86401), APP, Kind.EXPIRED, "idle"),
    ("idle-edge", session(86400 - 1, role="x"), APP, Kind.REFRESHED, "update_age"),
    ("absolute", session(60, role="admin", auth_time=NOW - 43201), APP, Kind.EXPIRED, "absolute"),
    (
        "bad-auth-time",
        session(60, role="admin", auth_time="yesterday"),
        APP,
        Kind.INVALID,
        "auth_time",
    ),
    ("forbidden", session(60, role="general"), ADMIN_ROUTE, Kind.FORBIDDEN, "role"),
    ("forbidden-no-role", session(60), ADMIN_ROUTE, Kind.FORBIDDEN, "role"),
    ("admin-ok", session(60, role="admin", auth_time=NOW - 60), ADMIN_ROUTE, Kind.ALLOWED, "valid"),
    (
        "role-list",
        session(60, role=["x", "admin"], auth_time=NOW),
        ADMIN_ROUTE,
        Kind.ALLOWED,
        "valid",
    ),
    ("update-age", session(3600, role="admin", auth_time=NOW), APP, Kind.REFRESHED, "update_age"),
    ("before-update-age", session(3599, role="admin", auth_time=NOW), APP, Kind.ALLOWED, "valid"),
    ("auth-time-missing", session(60, role="admin"), APP, Kind.REFRESHED, "auth_time"),
    ("old-secret", session(60, secret_index=1), APP, Kind.REFRESHED, "old_secret"),
    ("static-never-renews", session(599, role="kiosk"), APP, Kind.ALLOWED, "valid"),
    ("static-expires", session(601, role="kiosk"), APP, Kind.EXPIRED, "idle"),
]


@pytest.mark.parametrize(
    ("read", "route", "kind", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decision_table(read: SessionRead, route: Route, kind: Kind, reason: str) -> None:
    decision = decide(read, route)
    assert (decision.kind, decision.reason) == (kind, reason)
    assert decision.state is kind


@pytest.mark.parametrize(
    ("read", "state", "drops", "renews"),
    [
        (session(86401), Kind.EXPIRED, True, False),
        (SessionRead(problem="decrypt"), Kind.INVALID, True, False),
        (session(7 * 3600), Kind.REFRESHED, False, True),
        (SessionRead(), Kind.UNAUTHENTICATED, False, False),
    ],
    ids=["expired", "invalid", "due", "none"],
)
def test_public_routes_still_apply_the_policy(
    read: SessionRead, state: Kind, drops: bool, renews: bool
) -> None:
    decision = decide(read, PUBLIC)
    assert decision.kind is Kind.PUBLIC and decision.state is state
    assert (decision.drops_session, decision.renews) == (drops, renews)


@pytest.mark.parametrize(
    ("claims", "policy"),
    [
        ({"role": "admin"}, "admin"),
        ({"role": ["general", "admin"]}, "admin"),  # file order wins, not claim order
        ({"role": "nobody"}, "general"),
        ({"role": {"nested": "admin"}}, "general"),
        ({}, "general"),
    ],
    ids=["string", "list-file-order", "unknown", "object", "missing"],
)
def test_policy_for_role(claims: dict[str, Any], policy: str) -> None:
    assert policy_for(claims, CONFIG).name == policy


def test_renewed_claims_keep_everything_and_restamp() -> None:
    old = session(4000, role="admin", email="a@b", auth_time=NOW - 40000).session
    assert old is not None
    claims = renewed_claims(old, ADMIN, NOW)
    assert claims["iat"] == NOW and claims["email"] == "a@b"
    assert claims["exp"] == NOW - 40000 + 43200  # capped by the hard limit, not now + 2h
    assert claims["jti"] != old.claims.get("jti")
    assert claims["auth_time"] == NOW - 40000
