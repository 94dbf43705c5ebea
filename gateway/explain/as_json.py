"""An explanation for scripts (``gateway explain --json``): the same facts, times as
``{unix, iso, seconds_from_at}``."""

from __future__ import annotations

from typing import Any

from gateway.config import Policy, Route, format_duration
from gateway.explain.outcome import Deadline, Explanation
from gateway.explain.times import iso, unix


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
        "sid": e.sid,
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
    return {"unix": unix(t), "iso": iso(t), "seconds_from_at": unix(t - at)}


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
        "activity": route.activity,
        "max_auth_age": route.max_auth_age,
        "upstream": route.upstream.origin,
    }
