"""The explanation of one cookie for one path at one moment: what was read, which policy
applies, when the session renews and expires, and the decision, all computed by the
gateway's own stages (the package docstring says why that matters)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from gateway.config import GatewayConfig, Policy, Route, format_duration
from gateway.errors import BadPath
from gateway.explain.reasons import BAD_PATH, NOT_FOUND, meaning
from gateway.policy import (
    DENIED,
    Decision,
    Kind,
    Lifetime,
    evaluate,
    lifetime,
    number,
    policy_for,
    roles_of,
)
from gateway.responses import ERROR_CODES
from gateway.routes import match_route, normalise
from gateway.session import (
    SECURE_PREFIX,
    SessionCookie,
    SessionRead,
    SessionStage,
    parse_cookie_header,
)

_TOKEN = re.compile(r"[A-Za-z0-9_.-]*")  # a bare JWE; anything else is read as a Cookie header


@dataclass(frozen=True, slots=True)
class Deadline:
    """A moment the session changes: its renewal, or one of its expiries."""

    rule: str  # renew | idle | exp | absolute
    at: float
    basis: str  # how it is computed, e.g. "iat + max_age (2h)"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happens to the request. ``kind`` is a :class:`~gateway.policy.Kind` value, or
    ``not_found`` / ``bad_path``; ``state`` is the session's own verdict (it differs from
    ``kind`` on a public route); ``meaning`` says what ``reason`` means, ``response`` what
    the client gets, in words."""

    kind: str
    reason: str
    state: str | None
    meaning: str
    response: str


@dataclass(frozen=True, slots=True)
class Explanation:
    at: float
    path: str
    found: SessionCookie
    read: SessionRead
    outcome: Outcome
    route: Route | None = None
    decision: Decision | None = None  # None when no route was reached (404, 400)
    forward: str | None = None  # the path as normalised and sent upstream; None: refused (400)
    secret_count: int = 1
    roles: tuple[str, ...] = ()
    policy: Policy | None = None
    iat: float | None = None
    exp: float | None = None
    auth_time: float | None = None  # None: missing (or not a number: then the decision says so)
    sid: str | None = None  # None: missing (or not text)
    renews: Deadline | None = None  # None: never (a static session)
    expiries: tuple[Deadline, ...] = ()

    @property
    def decoded(self) -> bool:
        return self.read.session is not None

    @property
    def claims(self) -> Mapping[str, Any]:
        return self.read.session.claims if self.read.session else {}


def explain(config: GatewayConfig, cookie: str, path: str, at: float) -> Explanation:
    """Explain ``cookie`` (a bare token, or a ``Cookie`` header value) for a request to
    ``path`` at unix time ``at``, as the gateway would decide it."""
    found, read = read_cookie(config, cookie)
    forward, route, outcome, decision = _route_outcome(config, read, path, at)
    plain = Explanation(
        at, path, found, read, outcome, route, decision, forward, len(config.session.secrets)
    )
    return plain if read.session is None else _with_session(plain, read.session.claims, config)


def _with_session(e: Explanation, claims: Mapping[str, Any], config: GatewayConfig) -> Explanation:
    policy = policy_for(claims, config)
    e = replace(e, roles=roles_of(claims, config.session.role_claim), policy=policy)
    iat, exp = number(claims.get("iat")), number(claims.get("exp"))
    if iat is None or exp is None:  # the codec refuses these; kept total for odd claims
        return e
    auth_time = number(claims.get("auth_time"))
    times = lifetime(claims, policy, config.session.clock_skew)
    expiries = _expiries(policy, config.session.clock_skew, times, auth_time is not None)
    sid = claims.get("sid")
    return replace(
        e,
        iat=iat,
        exp=exp,
        auth_time=auth_time,
        sid=sid if isinstance(sid, str) else None,
        renews=_renewal(policy, times),
        expiries=expiries,
    )


def read_cookie(config: GatewayConfig, value: str) -> tuple[SessionCookie, SessionRead]:
    """The session in ``value`` read by the gateway's own stage: a ``Cookie`` header (chunks
    joined, ``__Secure-`` preferred) or a bare token."""
    stage = SessionStage(config.session, config.limits)
    text = value.strip()
    if text[:7].lower() == "cookie:":  # pasted with its header name, from devtools or curl
        text = text[7:].strip()
    if not _TOKEN.fullmatch(text):
        return stage.read(parse_cookie_header([text]))
    base = config.session.cookie
    found = stage.read([(base, text)])
    if found[1].session is None and config.session.flavor == "authjs-v5":
        # v5 keys are salted with the cookie name, which a bare token does not carry.
        secure = stage.read([(SECURE_PREFIX + base, text)])
        if secure[1].session is not None:
            return secure
    return found


def _route_outcome(
    config: GatewayConfig, read: SessionRead, path: str, at: float
) -> tuple[str | None, Route | None, Outcome, Decision | None]:
    try:
        # The query never takes part, as in the pipeline.
        normalised = normalise(path.partition("?")[0])
    except BadPath as exc:
        reason = str(exc)
        return None, None, Outcome(BAD_PATH, reason, None, reason, "400 bad request"), None
    route = match_route(config.routes, normalised)
    if route is None:
        return (
            normalised.forward,
            None,
            Outcome(
                NOT_FOUND,
                "no_route",
                None,
                meaning(None, "no_route"),
                "404 (the cookie is not read)",
            ),
            None,
        )
    decision = evaluate(read, route, config, at)
    state = decision.state.value if decision.state else None
    outcome = Outcome(
        decision.kind.value,
        decision.reason,
        state,
        meaning(state, decision.reason),
        _response(decision, route, config),
    )
    return normalised.forward, route, outcome, decision


def _response(decision: Decision, route: Route, config: GatewayConfig) -> str:
    kind = decision.kind
    if kind is Kind.FORBIDDEN:
        answer = "403 forbidden"
    elif kind is Kind.STEP_UP:
        error = (
            f'401 {{"error": "reauthentication_required", "max_auth_age": {route.max_auth_age}}}'
        )
        answer = (
            error
            if route.unauthenticated == 401
            else f"302 to {config.login.url} for a browser navigation (the session cookie "
            f"deleted, so the user signs in again), else {error} (the cookie kept)"
        )
    elif kind in DENIED:
        error = f'401 {{"error": "{ERROR_CODES[kind]}"}}'
        answer = (
            error
            if route.unauthenticated == 401
            else (f"302 to {config.login.url} for a browser navigation, else {error}")
        )
    else:
        answer = f"proxied to {route.upstream.origin}"
    if decision.drops_session:
        return answer + "; the session cookie is deleted and not forwarded"
    if decision.renews:
        return answer + "; the cookie is renewed"
    return answer


def _renewal(policy: Policy, times: Lifetime) -> Deadline | None:
    if policy.update_age is None or times.renews_at is None:
        return None
    return Deadline(
        "renew", times.renews_at, f"iat + update_age ({format_duration(policy.update_age)})"
    )


def _expiries(
    policy: Policy, skew: int, times: Lifetime, has_auth_time: bool
) -> tuple[Deadline, ...]:
    found = [
        Deadline("idle", times.idle_at, f"iat + max_age ({format_duration(policy.max_age)})"),
        Deadline("exp", times.exp_at, f"exp + clock_skew ({format_duration(skew)})"),
    ]
    cap = policy.absolute_max_age
    if cap is not None and times.absolute_at is not None:
        basis = (
            f"auth_time + absolute_max_age ({format_duration(cap)})"
            if has_auth_time
            else f"iat + absolute_max_age ({format_duration(cap)}); auth_time missing: counted "
            "from iat, which the gateway records as auth_time on the next response"
        )
        found.append(Deadline("absolute", times.absolute_at, basis))
    return tuple(found)
