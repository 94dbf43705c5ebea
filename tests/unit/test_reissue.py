"""What the gateway makes of the app's own session cookie (gateway.reissue.rewritten), with a
fixed clock: sign-ins stamped only where a claim is needed, re-issues carrying the session's
auth_time and sid, and a passive route keeping the request's iat with exp capped."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway.config import GatewayConfig, Needs, Policy, Route
from gateway.reissue import is_sign_in_callback, rewritten
from gateway.session import Session
from tests.unit.test_policy import ADMIN, APP, CONFIG, NOW, UP

POLL = Route("session", "/api/auth/session", "/api/auth/session", UP, public=True, activity=False)
NEEDS_BOTH = replace(CONFIG, needs=Needs(auth_time=True, sid=True))
SID = "B" * 22


def request_session(**claims: Any) -> Session:
    base = {"sub": "u1", "role": "general", "iat": NOW - 600, "exp": NOW + 86400}
    return Session({**base, **claims}, "next-auth.session-token")


def app_cookie(**claims: Any) -> dict[str, Any]:
    """What NextAuth writes on a re-issue: new iat, exp and jti; other claims kept."""
    base = {"sub": "u1", "role": "general", "iat": NOW, "exp": NOW + 30 * 86400, "jti": "j2"}
    return {**base, **claims}


def run(
    app: dict[str, Any],
    session: Session | None,
    route: Route = APP,
    config: GatewayConfig = CONFIG,
    callback: bool = False,
) -> Any:
    return rewritten(app, session, route, config, NOW, callback)


def test_a_sign_in_with_nothing_needed_passes_unchanged() -> None:
    assert run(app_cookie(), None) is None
    assert run(app_cookie(), request_session(), callback=True) is None


def test_a_sign_in_is_stamped_where_needed() -> None:
    plan = run(app_cookie(), None, config=NEEDS_BOTH)
    assert plan.claims["auth_time"] == NOW
    assert len(plan.claims["sid"]) == 22
    assert {k: plan.claims[k] for k in ("iat", "exp", "jti")} == {
        "iat": NOW,
        "exp": NOW + 30 * 86400,
        "jti": "j2",
    }
    assert plan.expires is None and not plan.held_back


def test_a_policy_with_a_hard_cap_needs_auth_time_at_sign_in() -> None:
    plan = run(app_cookie(role="admin"), None)
    assert plan.claims["auth_time"] == NOW and "sid" not in plan.claims
    assert ADMIN.absolute_max_age is not None


def test_the_callback_is_a_fresh_sign_in_even_for_the_same_user() -> None:
    old = request_session(auth_time=NOW - 5000, sid=SID)
    plan = run(app_cookie(auth_time=NOW - 5000, sid=SID), old, config=NEEDS_BOTH, callback=True)
    assert plan.claims["auth_time"] == NOW
    assert plan.claims["sid"] != SID


def test_another_users_cookie_is_a_sign_in() -> None:
    other = run(app_cookie(sub="u2"), request_session(auth_time=NOW - 5000), config=NEEDS_BOTH)
    assert other.claims["auth_time"] == NOW


def test_a_reissue_that_kept_everything_passes_unchanged() -> None:
    old = request_session(auth_time=NOW - 5000, sid=SID)
    assert run(app_cookie(auth_time=NOW - 5000, sid=SID), old, config=NEEDS_BOTH) is None


def test_a_reissue_that_dropped_the_claims_gets_them_back() -> None:
    old = request_session(auth_time=NOW - 5000, sid=SID)
    plan = run(app_cookie(), old, config=NEEDS_BOTH)
    assert (plan.claims["auth_time"], plan.claims["sid"]) == (NOW - 5000, SID)
    assert plan.claims["iat"] == NOW  # an active route: the app's renewal stands


def test_a_reissue_cannot_move_the_sign_in_time() -> None:
    old = request_session(auth_time=NOW - 5000)
    plan = run(app_cookie(auth_time=NOW), old)
    assert plan.claims["auth_time"] == NOW - 5000


def test_a_reissue_of_an_old_session_carries_its_iat_as_auth_time() -> None:
    needs_auth_time = replace(CONFIG, needs=Needs(auth_time=True))
    plan = run(app_cookie(), request_session(), config=needs_auth_time)
    assert plan.claims["auth_time"] == NOW - 600
    assert "sid" not in plan.claims


def test_a_reissue_where_nothing_needs_auth_time_passes_unchanged() -> None:
    """A wave-1 config: general has no hard cap and no route has max_auth_age."""
    assert run(app_cookie(), request_session()) is None


def test_a_reissue_raising_the_role_to_a_hard_cap_carries_the_sign_in_time() -> None:
    plan = run(app_cookie(role="admin"), request_session())
    assert plan.claims["auth_time"] == NOW - 600


def test_an_app_writing_a_sign_in_time_for_a_session_without_one_gets_the_iat() -> None:
    for written in (NOW, NOW + 3600, None):
        plan = run(app_cookie(auth_time=written), request_session())
        assert plan.claims["auth_time"] == NOW - 600


def test_app_claims_without_a_numeric_clock_pass_unchanged() -> None:
    for broken in ({"exp": None}, {"exp": "soon"}, {"iat": float("inf")}, {"iat": None}):
        app = app_cookie(**broken)
        for route in (APP, POLL):
            assert run(app, request_session(), route=route, config=NEEDS_BOTH) is None
        assert run(app, None, config=NEEDS_BOTH) is None


def test_a_reissue_adds_a_needed_sid_once() -> None:
    plan = run(app_cookie(auth_time=NOW - 600), request_session(auth_time=NOW - 600),
               config=replace(CONFIG, needs=Needs(sid=True)))  # fmt: skip
    assert len(plan.claims["sid"]) == 22


def test_a_passive_reissue_keeps_the_idle_clock() -> None:
    old = request_session(auth_time=NOW - 5000)
    plan = run(app_cookie(auth_time=NOW - 5000), old, route=POLL)
    general: Policy = CONFIG.policy("general")
    assert plan.claims["iat"] == NOW - 600
    assert plan.claims["exp"] == NOW - 600 + general.max_age
    assert plan.expires == plan.claims["exp"]
    assert plan.claims["jti"] == "j2"  # every other claim as the app wrote it
    assert plan.held_back


def test_a_passive_reissue_never_extends_the_apps_own_exp() -> None:
    plan = run(app_cookie(exp=NOW + 60), request_session(auth_time=NOW - 600), route=POLL)
    assert plan.claims["exp"] == NOW + 60


def test_a_passive_reissue_is_capped_by_the_hard_cap() -> None:
    old = request_session(role="admin", iat=NOW - 60, auth_time=NOW - 43000)
    plan = run(app_cookie(role="admin", auth_time=NOW - 43000), old, route=POLL)
    assert plan.claims["exp"] == NOW - 43000 + 43200


def test_a_passive_reissue_that_did_not_move_iat_is_not_counted() -> None:
    old = request_session(auth_time=NOW - 600)
    plan = run(app_cookie(iat=NOW - 600, auth_time=NOW - 600), old, route=POLL)
    assert plan is None or not plan.held_back


def test_the_sign_in_callback_is_under_the_auth_path() -> None:
    assert is_sign_in_callback(CONFIG, "/api/auth/callback/credentials")
    assert not is_sign_in_callback(CONFIG, "/api/auth/callback")
    assert not is_sign_in_callback(CONFIG, "/api/auth/session")
    basepath = replace(CONFIG, session=replace(CONFIG.session, auth_path="/Auth"))
    assert is_sign_in_callback(basepath, "/auth/callback/github")
