"""The gateway's own endpoints under ``gateway_prefix`` on the proxied port; never proxied.

``GET {prefix}/session`` tells a single-page app who is signed in and when the session ends,
so it can warn before a logout. It reads the session without renewing it: a page polling it
must not keep an idle session alive by itself.
"""

from __future__ import annotations

from aiohttp import web

from gateway.config import GatewayConfig
from gateway.policy import Decision, Kind, lifetime, roles_of
from gateway.responses import ERROR_CODES, NotFound, json_response, unauthorised

ROUTE_LABEL = "_gateway"  # the metric label of every request under the prefix


def is_gateway_path(config: GatewayConfig, match_path: str) -> bool:
    prefix = config.gateway_prefix.lower()
    return match_path == prefix or match_path.startswith(prefix + "/")


def session_endpoint(request: web.Request, config: GatewayConfig,
                     decision: Decision) -> web.Response:
    """The current session as JSON (no token in it), or 401 JSON when there is none."""
    if request.method not in ("GET", "HEAD"):
        raise NotFound()
    if decision.state not in (Kind.ALLOWED, Kind.REFRESHED) or not decision.session:
        assert decision.state is not None
        return unauthorised(ERROR_CODES.get(decision.state, "unauthenticated"))
    assert decision.policy is not None
    claims = decision.session.claims
    times = lifetime(claims, decision.policy, config.session.clock_skew)
    return json_response(200, {
        "subject": claims["sub"],
        "roles": list(roles_of(claims, config.session.role_claim)),
        "policy": decision.policy.name,
        "expires_at": int(times.expires_at),
        "renews_at": None if times.renews_at is None else int(times.renews_at),
    })
