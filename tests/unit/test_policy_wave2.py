"""The decision table's rows for sign-in time, session id, step-up and passive routes
(gateway.policy), with a fixed clock: a sign-in time in the future or not a number is
invalid, a bad sid only where a sid is needed; step-up after the role check and before the
renewal, counted from auth_time (or iat while it is missing); a passive route holds a due
renewal back; the "missing" renewal only where a claim is needed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gateway.config import Needs, Route
from gateway.policy import (
    Kind,
    evaluate,
    new_sid,
    renewal_reason,
    renewed_claims,
    signed_in_at,
)
from gateway.session import Session, SessionRead
from tests.unit.test_policy import ADMIN, ADMIN_ROUTE, APP, CONFIG, GENERAL, NOW, UP, session

BILLING = Route("billing", "/billing", "/billing", UP, max_auth_age=900)
BILLING_ADMIN = Route("ops", "/ops", "/ops", UP, roles=("admin",), max_auth_age=900)
POLL = Route("session", "/api/auth/session", "/api/auth/session", UP, public=True, activity=False)
PASSIVE = Route("feed", "/feed", "/feed", UP, activity=False)
STEP_UP_CONFIG = replace(CONFIG, needs=Needs(auth_time=True))
SID_CONFIG = replace(CONFIG, needs=Needs(sid=True))
SID = "A" * 22


def null_auth_time() -> SessionRead:
    """``auth_time: null`` (the shared helper drops None claims): not a missing claim."""
    claims = {"sub": "u1", "iat": NOW - 60, "exp": NOW + 86400, "auth_time": None}
    return SessionRead(Session(claims, "next-auth.session-token"))


def decide(read: SessionRead, route: Route, config: Any = CONFIG) -> tuple[Kind, str]:
    decision = evaluate(read, route, config, NOW)
    return decision.kind, decision.reason


CASES = [
    # Sign-in time: refused when it cannot be true.
    ("auth-time-future", session(60, auth_time=NOW + 16), APP, CONFIG, Kind.INVALID),
    ("auth-time-within-skew", session(60, auth_time=NOW + 15), APP, CONFIG, Kind.ALLOWED),
    ("auth-time-bool", session(60, auth_time=True), APP, CONFIG, Kind.INVALID),
    ("auth-time-huge", session(60, auth_time=10**400), APP, CONFIG, Kind.INVALID),
    ("auth-time-null", null_auth_time(), APP, CONFIG, Kind.INVALID),
    ("auth-time-null-passive", null_auth_time(), PASSIVE, CONFIG, Kind.INVALID),
    ("auth-time-string", session(60, auth_time="1700000000"), APP, CONFIG, Kind.INVALID),
    # sid: checked only where something needs it.
    ("sid-number-not-needed", session(60, sid=5), APP, CONFIG, Kind.ALLOWED),
    ("sid-number-needed", session(60, sid=5), APP, SID_CONFIG, Kind.INVALID),
    ("sid-short", session(60, sid="abc"), APP, SID_CONFIG, Kind.INVALID),
    ("sid-slash", session(60, sid="a/" * 10), APP, SID_CONFIG, Kind.INVALID),
    ("sid-newline", session(60, sid=SID + "\n"), APP, SID_CONFIG, Kind.INVALID),
    ("sid-long", session(60, sid="a" * 129), APP, SID_CONFIG, Kind.INVALID),
    ("sid-ok", session(60, sid=SID), APP, SID_CONFIG, Kind.ALLOWED),
    ("sid-uuid", session(60, sid="8f14e45f-ceea-467f-a0a6-1234567890ab"), APP, SID_CONFIG, None),
    # Step-up: the route's max_auth_age against auth_time, else iat.
    ("step-up-old", session(60, auth_time=NOW - 901), BILLING, CONFIG, Kind.STEP_UP),
    ("step-up-edge", session(60, auth_time=NOW - 900), BILLING, CONFIG, Kind.ALLOWED),
    ("step-up-from-iat", session(901), BILLING, STEP_UP_CONFIG, Kind.STEP_UP),
    ("step-up-fresh-iat", session(60), BILLING, STEP_UP_CONFIG, Kind.REFRESHED),
    ("forbidden-first", session(60, auth_time=NOW - 3600), BILLING_ADMIN, CONFIG, Kind.FORBIDDEN),
    ("expired-first", session(86401, auth_time=NOW - 86401), BILLING, CONFIG, Kind.EXPIRED),
]


@pytest.mark.parametrize(
    ("read", "route", "config", "kind"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_wave2_rows(read: SessionRead, route: Route, config: Any, kind: Kind | None) -> None:
    expected = kind or Kind.ALLOWED
    assert decide(read, route, config)[0] is expected


def test_reasons_name_the_rule() -> None:
    assert decide(session(60, auth_time=NOW + 16), APP) == (Kind.INVALID, "auth_time_future")
    assert decide(session(60, sid=5), APP, SID_CONFIG) == (Kind.INVALID, "sid")
    assert decide(session(60, auth_time=NOW - 901), BILLING) == (Kind.STEP_UP, "auth_age")
    assert decide(null_auth_time(), APP) == (Kind.INVALID, "auth_time")


def test_step_up_comes_after_the_role_check() -> None:
    general = session(60, role="general", auth_time=NOW - 3600)
    admin = session(60, role="admin", auth_time=NOW - 3600)
    assert decide(general, BILLING_ADMIN)[0] is Kind.FORBIDDEN
    assert decide(admin, BILLING_ADMIN)[0] is Kind.STEP_UP


def test_a_passive_route_holds_a_due_renewal_back() -> None:
    due = session(GENERAL.update_age or 0)
    assert decide(due, APP)[0] is Kind.REFRESHED
    assert decide(due, PASSIVE) == (Kind.ALLOWED, "passive")
    public = evaluate(due, POLL, CONFIG, NOW)
    assert (public.kind, public.state, public.reason) == (Kind.PUBLIC, Kind.ALLOWED, "passive")
    assert not public.renews


def test_a_passive_route_still_refuses_an_expired_session() -> None:
    expired = evaluate(session(86401), POLL, CONFIG, NOW)
    assert expired.kind is Kind.PUBLIC and expired.drops_session


def test_a_fresh_session_on_a_passive_route_is_plainly_valid() -> None:
    assert decide(session(60), PASSIVE) == (Kind.ALLOWED, "valid")


def test_missing_claims_renew_only_where_needed() -> None:
    plain = Session({"sub": "u", "iat": NOW - 60, "exp": NOW + 3600}, "n")
    assert renewal_reason(plain, GENERAL, NOW) is None
    assert renewal_reason(plain, GENERAL, NOW, Needs(auth_time=True)) == "auth_time"
    assert renewal_reason(plain, ADMIN, NOW) == "auth_time"  # absolute_max_age needs it
    assert renewal_reason(plain, GENERAL, NOW, Needs(sid=True)) == "sid"
    stamped = Session({**plain.claims, "auth_time": NOW - 60, "sid": SID}, "n")
    assert renewal_reason(stamped, GENERAL, NOW, Needs(auth_time=True, sid=True)) is None


def test_renewal_adds_a_sid_only_where_needed_and_keeps_one() -> None:
    plain = Session({"sub": "u", "iat": NOW - 60, "exp": NOW + 3600}, "n")
    assert "sid" not in renewed_claims(plain, GENERAL, NOW)
    added = renewed_claims(plain, GENERAL, NOW, Needs(sid=True))["sid"]
    assert isinstance(added, str) and len(added) == 22
    kept = Session({**plain.claims, "sid": SID}, "n")
    assert renewed_claims(kept, GENERAL, NOW, Needs(sid=True))["sid"] == SID


def test_new_sids_are_128_bit_base64url_and_distinct() -> None:
    sids = {new_sid() for _ in range(1000)}
    assert len(sids) == 1000
    assert all(len(s) == 22 and s.replace("-", "").replace("_", "").isalnum() for s in sids)


def test_signed_in_at_falls_back_to_iat() -> None:
    assert signed_in_at({"iat": 100, "auth_time": 50}) == 50
    assert signed_in_at({"iat": 100}) == 100
    assert signed_in_at({"iat": 100, "auth_time": "x"}) == 100


def test_admin_route_without_max_auth_age_never_steps_up() -> None:
    old = session(60, role="admin", auth_time=NOW - 40000)
    assert decide(old, ADMIN_ROUTE)[0] is Kind.ALLOWED


def test_an_old_secret_on_a_passive_route_is_rekeyed_without_moving_the_clock() -> None:
    """An app that knows only the new secret must still read the session a tab polls."""
    due = SessionRead(Session({"sub": "u1", "iat": NOW - 60, "exp": NOW + 3600}, "n", 1))
    decision = evaluate(due, PASSIVE, CONFIG, NOW)
    assert (decision.kind, decision.reason) == (Kind.REFRESHED, "rekey")
    assert decision.renews and not decision.moves_clock
    assert decision.session is not None
    claims = renewed_claims(decision.session, GENERAL, NOW, rekey=True)
    assert claims == dict(decision.session.claims)  # iat and exp as they were
    active = evaluate(due, APP, CONFIG, NOW)
    assert (active.reason, active.moves_clock) == ("old_secret", True)
