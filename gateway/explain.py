"""``gateway explain``: one cookie, one path, one moment, told with the gateway's own stages.

:func:`explain` runs what the pipeline runs (the cookie reader, the codec through
:class:`~gateway.sessions.SessionStage`, the route matcher, :func:`~gateway.policy.evaluate`)
and adds only arithmetic for display, so what it says is what the gateway would do. It reads
nothing but its arguments. The claims are shown in full (it is the operator's own token); the
secrets never are, only which one decrypted, by position.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gateway.config import GatewayConfig, Policy, Route, format_duration
from gateway.errors import BadPath
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

NOT_FOUND, BAD_PATH = "not_found", "bad_path"  # outcomes decided before the session is read
OUT_OF_RANGE = "(out of range)"
_TOKEN = re.compile(r"[A-Za-z0-9_.-]*")  # a bare JWE; anything else is read as a Cookie header
_UNIX = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,9})?")
_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}

# What each stable reason id means, for the operator. (kind, reason) first, then reason.
REASONS: Mapping[tuple[str | None, str], str] = {
    (None, "no_cookie"): "no session cookie in the value given",
    (None, "duplicate"): "a session cookie name appears twice",
    (None, "bad index"): "a chunk suffix is not a plain index",
    (None, "empty"): "a session cookie is empty",
    (None, "bare name plus chunks"): "the bare name and chunks are both present",
    (None, "too many"): "more chunks than limits.max_cookie_chunks",
    (None, "gap"): "the chunks are not contiguous from .0",
    (None, "malformed"): "not a compact JWE (five dot-separated parts)",
    (None, "header"): "JWE header refused (only alg dir with the flavor's enc; no zip, no crit)",
    (None, "decrypt"): "no configured secret decrypts it (another secret or cookie name, "
    "or tampered)",
    (None, "payload"): "decrypted, but the payload is not a JSON object",
    (None, "claims"): "iat or exp is missing or not a number",
    (None, "no_sub"): "no sub claim: not a session (NextAuth's state, PKCE and CSRF cookies "
    "look like this)",
    ("invalid", "auth_time"): "auth_time is not a number",
    (None, "iat_future"): "iat is later than now + clock_skew",
    (None, "exp"): "exp + clock_skew has passed",
    (None, "idle"): "not renewed within max_age (idle too long)",
    (None, "absolute"): "signed in longer ago than absolute_max_age (hard cap)",
    (None, "role"): "none of the user's roles is allowed on this route",
    (None, "update_age"): "older than update_age: renewed on this response",
    ("refreshed", "auth_time"): "auth_time missing under absolute_max_age: renewed to add it",
    (None, "old_secret"): "decrypted by an old secret: renewed under the current one",
    (None, "valid"): "valid",
    (None, "no_route"): "no route matches this path",
}


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
    return replace(
        e, iat=iat, exp=exp, auth_time=auth_time, renews=_renewal(policy, times), expiries=expiries
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


def parse_time(text: str) -> float:
    """``--at``: unix seconds, or an ISO 8601 date or time (UTC when it names no offset).
    Raises ValueError with a phrase naming the rule."""
    text = text.strip()
    if _UNIX.fullmatch(text):
        at = float(text)
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{_printable(repr(text))} is neither unix seconds nor an ISO 8601 "
                "time such as 2030-01-15T08:00:00Z"
            ) from None
        at = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    if iso(at) == OUT_OF_RANGE:
        raise ValueError(f"{text} is outside the years 1 to 9999")
    return at


def iso(t: float) -> str:
    """``t`` (unix seconds) as ISO 8601 UTC to the second."""
    try:
        moment = datetime.fromtimestamp(t, UTC)
    except (OverflowError, ValueError, OSError):  # odd but decryptable claims: 2**53, -2**53
        return OUT_OF_RANGE
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def relative(t: float, at: float) -> str:
    """``in 1h 5m``, ``2d ago`` or ``now``: ``t`` seen from ``at``, to the second."""
    delta = round(t - at)
    if delta == 0:
        return "now"
    return f"in {_span(delta)}" if delta > 0 else f"{_span(-delta)} ago"


def _span(seconds: int) -> str:
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts)


def render_text(e: Explanation) -> str:
    """The explanation for a terminal: one fact a line, the claims as indented JSON."""
    path = e.path if e.forward in (None, e.path) else f"{e.path} (normalised: {e.forward})"
    lines = [_line("at", f"{iso(e.at)} (unix {_unix(e.at)})"), _line("path", _printable(path))]
    lines += _cookie_lines(e)
    if e.read.session is not None:
        lines += _session_lines(e)
    lines += _decision_lines(e)
    return "\n".join(lines)


def _line(label: str, value: str) -> str:
    return f"{label + ':':<12}{value}".rstrip()


def _cookie_lines(e: Explanation) -> list[str]:
    found, session = e.found, e.read.session
    if found.name is None:
        return [_line("cookie", "(none)")]
    names = ", ".join(_printable(name) for name in found.present)
    lines = [_line("cookie", f"{found.name} (read from: {names})")]
    if session is not None:
        which = session.secret_index + 1
        age = "the current one" if which == 1 else "an old one: renewed under the current one"
        lines.append(_line("decrypted", f"by secret {which} of {e.secret_count} ({age})"))
    return lines


def _session_lines(e: Explanation) -> list[str]:
    claims = json.dumps(dict(e.claims), indent=2, ensure_ascii=False)
    lines = ["claims:", *("  " + _printable(line) for line in claims.splitlines())]
    lines.append(_line("roles", ", ".join(map(_printable, e.roles)) or "(none)"))
    if e.policy is not None:
        lines.append(_line("policy", _policy_text(e.policy, e.roles)))
    lines += [_line(name, _when(getattr(e, name), e.at)) for name in ("iat", "exp")]
    lines.append(_line("auth_time", _auth_time_text(e)))
    renews = e.renews
    lines.append(
        _line(
            "renews",
            f"{_when(renews.at, e.at)}, {renews.basis}" if renews else "never (static session)",
        )
    )
    return lines + _expiry_lines(e)


def _policy_text(policy: Policy, roles: tuple[str, ...]) -> str:
    update = format_duration(policy.update_age) if policy.update_age is not None else "never"
    cap = policy.absolute_max_age
    text = (
        f"{policy.name} (max_age {format_duration(policy.max_age)}, update_age {update}, "
        f"absolute_max_age {format_duration(cap) if cap is not None else 'none'})"
    )
    return text if policy.name in roles else text + ", the default_policy: no role has its own"


def _auth_time_text(e: Explanation) -> str:
    if e.auth_time is not None:
        return _when(e.auth_time, e.at)
    return "not a number" if "auth_time" in e.claims else "missing"


def _expiry_lines(e: Explanation) -> list[str]:
    if not e.expiries:
        return []
    first = min(e.expiries, key=lambda d: d.at)
    lines = [_line("expires", f"{_when(first.at, e.at)}, by {first.rule}, the first of:")]
    for deadline in e.expiries:
        lines.append(f"  {deadline.rule:<10}{_when(deadline.at, e.at):<36}{deadline.basis}")
    return lines


def _decision_lines(e: Explanation) -> list[str]:
    route, outcome = e.route, e.outcome
    lines = [
        _line("route", f"{route.name} (path {route.path}, {_access(route)})" if route else "(none)")
    ]
    if outcome.kind == NOT_FOUND:
        decision = "no route (404)"
    elif outcome.kind == BAD_PATH:
        decision = f"bad path (400): {outcome.reason}"
    elif outcome.kind == Kind.PUBLIC:
        decision = (
            f"public (the route is public); the session alone: {outcome.state} "
            f"({outcome.reason}): {outcome.meaning}"
        )
    else:
        decision = f"{outcome.kind} ({outcome.reason}): {outcome.meaning}"
    return [*lines, _line("decision", decision), _line("response", outcome.response)]


def _access(route: Route) -> str:
    if route.public:
        return "public"
    return f"roles {', '.join(route.roles)}" if route.roles else "any signed-in user"


def meaning(kind: str | None, reason: str) -> str:
    """What a decision's reason id means, in words."""
    return REASONS.get((kind, reason)) or REASONS.get((None, reason)) or reason


def _when(t: float | None, at: float) -> str:
    return "(none)" if t is None else f"{iso(t)} ({relative(t, at)})"


def _unix(t: float) -> int | float:
    return int(t) if float(t).is_integer() else t


def _printable(text: str) -> str:
    """``text`` with every non-printable character JSON-escaped: claims come from the app's
    users, and a terminal must not run their escape sequences or bidi overrides."""
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def render_json(e: Explanation) -> dict[str, Any]:
    """The same facts for scripts: times as ``{unix, iso, seconds_from_at}``."""
    session = e.read.session
    return {
        "at": _instant(e.at, e.at),
        "path": e.path,
        "forward_path": e.forward,
        "cookie": {
            "name": e.found.name,
            "names": list(e.found.present),
            "problem": e.found.problem,
        },
        "decoded": session is not None,
        "secret_index": session.secret_index if session else None,  # 0: the first (current)
        "secret_count": e.secret_count,
        "claims": dict(e.claims) if session else None,
        "roles": list(e.roles),
        "policy": _policy_json(e.policy),
        **{name: _instant(getattr(e, name), e.at) for name in ("iat", "exp", "auth_time")},
        "renews": _deadline_json(e.renews, e.at),
        "expires": [_deadline_json(d, e.at) for d in e.expiries],
        "route": _route_json(e.route),
        "decision": {
            "kind": e.outcome.kind,
            "reason": e.outcome.reason,
            "state": e.outcome.state,
            "meaning": e.outcome.meaning,
            "response": e.outcome.response,
        },
    }


def _instant(t: float | None, at: float) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"unix": _unix(t), "iso": iso(t), "seconds_from_at": _unix(t - at)}


def _deadline_json(deadline: Deadline | None, at: float) -> dict[str, Any] | None:
    if deadline is None:
        return None
    return {"rule": deadline.rule, **(_instant(deadline.at, at) or {}), "basis": deadline.basis}


def _policy_json(policy: Policy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    durations = {
        "max_age": policy.max_age,
        "update_age": policy.update_age,
        "absolute_max_age": policy.absolute_max_age,
    }
    return {
        "name": policy.name,
        **durations,
        "text": {k: format_duration(v) if v is not None else None for k, v in durations.items()},
    }


def _route_json(route: Route | None) -> dict[str, Any] | None:
    if route is None:
        return None
    return {
        "name": route.name,
        "path": route.path,
        "public": route.public,
        "roles": list(route.roles) if route.roles is not None else None,
        "unauthenticated": route.unauthenticated,
        "upstream": route.upstream.origin,
    }
