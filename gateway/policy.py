"""Role -> policy, and the decision table (docs/architecture.md) as one pure function.

``evaluate`` takes what the cookie said and the time, and returns a :class:`Decision` value;
it never touches the request or the network, so every row of the table is a unit test with a
fixed clock.
"""

from __future__ import annotations

import math
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from gateway.config import GatewayConfig, Needs, Policy, Route
from gateway.identity import claim
from gateway.session import Session, SessionRead


class Kind(StrEnum):
    """The decision; its value is the `decision` metric label."""

    ALLOWED = "allowed"
    REFRESHED = "refreshed"
    PUBLIC = "public"
    UNAUTHENTICATED = "unauthenticated"
    INVALID = "invalid"
    EXPIRED = "expired"
    FORBIDDEN = "forbidden"
    STEP_UP = "step_up"  # valid, but signed in longer ago than the route's max_auth_age


DENIED = frozenset({Kind.UNAUTHENTICATED, Kind.INVALID, Kind.EXPIRED, Kind.FORBIDDEN, Kind.STEP_UP})
NOTHING_NEEDED = Needs()  # a wave-1 config: the gateway keeps no claims of its own
# A sid the gateway wrote is 22 characters; one from elsewhere must look like an id too.
_SID = re.compile(r"[A-Za-z0-9_-]{16,128}")


@dataclass(frozen=True, slots=True)
class Decision:
    """``kind`` is what happens; ``reason`` a stable id saying why (logged, explained).

    On a public route the kind is ``public`` and ``state`` keeps what the session alone would
    have been, because the policy binds there too: an expired or invalid session is still
    removed, and a due one still renewed.
    """

    kind: Kind
    reason: str
    policy: Policy | None = None
    session: Session | None = None
    state: Kind | None = None  # the session's own verdict; equals kind off public routes

    @property
    def drops_session(self) -> bool:
        return self.state in (Kind.INVALID, Kind.EXPIRED)

    @property
    def renews(self) -> bool:
        return self.state is Kind.REFRESHED

    @property
    def moves_clock(self) -> bool:
        """A renewal that starts a new idle window (a re-key on a passive route does not)."""
        return self.renews and self.reason != "rekey"


def roles_of(claims: Mapping[str, Any], role_claim: str) -> tuple[str, ...]:
    """The user's roles: a string claim, or the strings of a list claim."""
    value = claim(claims, role_claim)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def policy_for(claims: Mapping[str, Any], config: GatewayConfig) -> Policy:
    """The first policy in file order naming one of the user's roles, else the default."""
    roles = set(roles_of(claims, config.session.role_claim))
    for policy in config.policies:
        if policy.name in roles:
            return policy
    return config.policy(config.default_policy)


def number(value: object) -> float | None:
    """A claim as a finite float, or None (bools, strings, huge ints, NaN and inf are not)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def session_verdict(
    session: Session, policy: Policy, skew: int, now: float, needs: Needs = NOTHING_NEEDED
) -> tuple[Kind, str]:
    """The rows of the decision table that need only the session and its policy."""
    claims = session.claims
    iat, exp = number(claims.get("iat")), number(claims.get("exp"))
    if iat is None or exp is None:
        return Kind.INVALID, "claims"
    auth = number(claims.get("auth_time"))
    if auth is None and "auth_time" in claims:
        return Kind.INVALID, "auth_time"  # null too: a sign-in time that is not a number
    if auth is not None and auth > now + skew:
        # A sign-in in the future would never be too old for a hard cap or a step-up.
        return Kind.INVALID, "auth_time_future"
    if needs.sid and "sid" in claims and not _is_sid(claims["sid"]):
        return Kind.INVALID, "sid"
    if iat > now + skew:
        # Only a holder of the secret can mint this; refusing it keeps "idle" meaningful.
        return Kind.INVALID, "iat_future"
    if exp <= now - skew:
        return Kind.EXPIRED, "exp"
    if now - iat > policy.max_age:
        return Kind.EXPIRED, "idle"
    cap = policy.absolute_max_age
    if cap is not None and auth is not None and now - auth > cap:
        return Kind.EXPIRED, "absolute"
    return Kind.ALLOWED, "valid"


def _is_sid(value: object) -> bool:
    return isinstance(value, str) and _SID.fullmatch(value) is not None


def new_sid() -> str:
    """A session id: 128 random bits, base64url (22 characters)."""
    return secrets.token_urlsafe(16)


def signed_in_at(claims: Mapping[str, Any]) -> float:
    """``auth_time``, or ``iat`` until the gateway records it (the first write is the best
    sign-in time known)."""
    auth = number(claims.get("auth_time"))
    return float(claims["iat"]) if auth is None else auth


def renewal_reason(
    session: Session, policy: Policy, now: float, needs: Needs = NOTHING_NEEDED
) -> str | None:
    """Why this valid session is renewed on this response, or None."""
    iat = float(session.claims["iat"])
    if policy.update_age is not None and now - iat >= policy.update_age:
        return "update_age"
    if needs.auth_time_for(policy) and "auth_time" not in session.claims:
        return "auth_time"
    if needs.sid and "sid" not in session.claims:
        return "sid"
    if session.secret_index > 0:
        return "old_secret"
    return None


def evaluate(read: SessionRead, route: Route, config: GatewayConfig, now: float) -> Decision:
    """The decision table, in its order (docs/architecture.md, "The decision table")."""
    decision = _session_decision(read, route, config, now)
    if route.public:
        return Decision(
            Kind.PUBLIC, decision.reason, decision.policy, decision.session, state=decision.kind
        )
    return decision


def as_preflight(decision: Decision) -> Decision:
    """A CORS preflight the route would refuse passes as public, reason ``preflight`` (the
    config's ``preflight: pass``): it carries no cookies by design, the real request is
    checked."""
    if decision.kind not in DENIED:
        return decision
    return Decision(
        Kind.PUBLIC, "preflight", decision.policy, decision.session, state=decision.state
    )


def _session_decision(
    read: SessionRead, route: Route, config: GatewayConfig, now: float
) -> Decision:
    if read.session is None:
        kind = Kind.INVALID if read.problem else Kind.UNAUTHENTICATED
        return Decision(kind, read.problem or "no_cookie", state=kind)
    session = read.session
    policy = policy_for(session.claims, config)
    kind, reason = session_verdict(session, policy, config.session.clock_skew, now, config.needs)
    if kind is Kind.ALLOWED:
        kind, reason = _authorise(session, policy, route, config, now)
    return Decision(kind, reason, policy, session, state=kind)


def _authorise(
    session: Session, policy: Policy, route: Route, config: GatewayConfig, now: float
) -> tuple[Kind, str]:
    if route.roles is not None and not route.public:
        roles = roles_of(session.claims, config.session.role_claim)
        if not set(roles) & set(route.roles):
            return Kind.FORBIDDEN, "role"
    limit = route.max_auth_age
    if limit is not None and now - signed_in_at(session.claims) > limit:
        return Kind.STEP_UP, "auth_age"
    renewal = renewal_reason(session, policy, now, config.needs)
    if renewal and not route.activity:
        if session.secret_index > 0:
            # An app that knows only the new secret could not read it (next-auth 4 would
            # delete it): re-encrypted under the current secret, the idle clock kept.
            return Kind.REFRESHED, "rekey"
        return Kind.ALLOWED, "passive"  # a poll is not the user: the idle clock waits
    return (Kind.REFRESHED, renewal) if renewal else (Kind.ALLOWED, "valid")


def renewed_claims(
    session: Session, policy: Policy, now: int, needs: Needs = NOTHING_NEEDED, rekey: bool = False
) -> dict[str, Any]:
    """Same claims, ``iat = now``, a new ``jti``, ``auth_time`` kept or added (equal to the
    old ``iat``: when the cookie was first written is the best sign-in time we know), and a
    new ``sid`` where one is needed and missing. ``rekey``: the claims as they are (a session
    under an old secret on a passive route is re-encrypted, its idle clock kept).

    ``exp`` is ``now + max_age`` but never past the hard cap, so the app's own NextAuth also
    refuses the cookie once ``absolute_max_age`` is over.
    """
    claims = dict(session.claims)
    if rekey:
        return claims  # the same claims under the current secret: iat and exp kept
    if number(claims.get("auth_time")) is None:
        claims["auth_time"] = int(float(claims["iat"]))
    exp = now + policy.max_age
    if policy.absolute_max_age is not None:
        exp = min(exp, int(signed_in_at(claims)) + policy.absolute_max_age)
    claims.update(iat=now, exp=exp, jti=str(uuid.uuid4()))
    if needs.sid and "sid" not in claims:
        claims["sid"] = new_sid()
    return claims


@dataclass(frozen=True, slots=True)
class Lifetime:
    """When a valid session renews and when it ends, in unix seconds."""

    renews_at: float | None  # None: a static session
    idle_at: float  # iat + max_age
    exp_at: float  # exp + clock skew: when the token itself is refused
    absolute_at: float | None  # auth_time (or iat, until recorded) + absolute_max_age

    @property
    def expires_at(self) -> float:
        return min(t for t in (self.idle_at, self.exp_at, self.absolute_at) if t is not None)


def lifetime(claims: Mapping[str, Any], policy: Policy, skew: int) -> Lifetime:
    """The moments of a session whose claims passed :func:`session_verdict`."""
    iat, exp = float(claims["iat"]), float(claims["exp"])
    cap = policy.absolute_max_age
    return Lifetime(
        renews_at=None if policy.update_age is None else iat + policy.update_age,
        idle_at=iat + policy.max_age,
        exp_at=exp + skew,
        absolute_at=None if cap is None else signed_in_at(claims) + cap,
    )
