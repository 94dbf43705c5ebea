"""The gateway's own endpoints under ``gateway_prefix`` on the proxied port; never proxied:
``/session`` here, and ``/auth`` (forward-auth, see :mod:`gateway.forward_auth`).

``GET {prefix}/session`` tells a single-page app who is signed in, since when (``auth_time``,
``null`` until the gateway has recorded it), which sign-in this is (``sid``, ``null`` where
no feature needs one) and when the session ends, so it can warn before a logout. It reads
the session without renewing it: a page polling it must not keep an idle session alive.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from gateway.config import GatewayConfig, Route
from gateway.errors import Forbidden, GatewayError, LoginRequired, NotFound
from gateway.exchange import Exchange
from gateway.forward_auth import Original, copy_cookies, original_request, wants_redirect
from gateway.identity import identity_values
from gateway.navigation import is_preflight
from gateway.observe import GatewayMetrics
from gateway.policy import (
    DENIED,
    Decision,
    Kind,
    as_preflight,
    evaluate,
    lifetime,
    number,
    roles_of,
)
from gateway.responses import ERROR_CODES, NO_STORE, error_response, json_response, unauthorised
from gateway.routes import RequestPath, match_route, normalise
from gateway.session import parse_cookie_header

ROUTE_LABEL = "_gateway"  # the metric label of every request under the prefix


def is_gateway_path(config: GatewayConfig, match_path: str) -> bool:
    prefix = config.gateway_prefix.lower()
    return match_path == prefix or match_path.startswith(prefix + "/")


def session_endpoint(
    request: web.BaseRequest, config: GatewayConfig, decision: Decision
) -> web.Response:
    """The current session as JSON (no token in it), or 401 JSON when there is none."""
    if request.method not in ("GET", "HEAD"):
        raise NotFound()
    if decision.state not in (Kind.ALLOWED, Kind.REFRESHED) or not decision.session:
        assert decision.state is not None
        return unauthorised(ERROR_CODES.get(decision.state, "unauthenticated"))
    assert decision.policy is not None
    claims = decision.session.claims
    times = lifetime(claims, decision.policy, config.session.clock_skew)
    return json_response(
        200,
        {
            "subject": claims["sub"],
            "roles": list(roles_of(claims, config.session.role_claim)),
            "policy": decision.policy.name,
            "expires_at": int(times.expires_at),
            "renews_at": None if times.renews_at is None else int(times.renews_at),
            "auth_time": _whole(number(claims.get("auth_time"))),
            "sid": claims["sid"] if isinstance(claims.get("sid"), str) else None,
        },
    )


def _whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def own_endpoint(
    request: web.BaseRequest, metrics: GatewayMetrics, exchange: Exchange, path: RequestPath
) -> web.Response:
    """``{gateway_prefix}/session``; anything else under the prefix is 404, never proxied."""
    config = exchange.snapshot.config
    exchange.route = ROUTE_LABEL
    endpoint = path.match.removeprefix(config.gateway_prefix.lower())
    if endpoint == "/auth":
        return _forward_auth(request, metrics, exchange)
    if endpoint != "/session":
        raise NotFound()
    pairs = parse_cookie_header(request.headers.getall("Cookie", ()))
    exchange.found, read = exchange.snapshot.sessions.read(pairs)
    route = Route(ROUTE_LABEL, config.gateway_prefix, config.gateway_prefix, config.upstream)
    decision = evaluate(read, route, config, exchange.now)
    if decision.kind is Kind.REFRESHED:  # reading the session never renews it
        decision = replace(decision, kind=Kind.ALLOWED, state=Kind.ALLOWED, reason="valid")
    exchange.decision = decision
    metrics.observe_decision(ROUTE_LABEL, decision, exchange.now)
    return session_endpoint(request, config, decision)


def _forward_auth(
    request: web.BaseRequest, metrics: GatewayMetrics, exchange: Exchange
) -> web.Response:
    """The same decision as a proxied request, answered to a proxy instead of forwarded."""
    config = exchange.snapshot.config
    original = original_request(request, exchange.view)
    route = match_route(config.routes, normalise(original.path))
    if route is None:
        raise NotFound()
    pairs = parse_cookie_header(request.headers.getall("Cookie", ()))
    exchange.found, read = exchange.snapshot.sessions.read(pairs)
    decision = evaluate(read, route, config, exchange.now)
    # The proxy sends the original request's headers along: a preflight is one as proxied.
    if config.preflight == "pass" and is_preflight(original.method, request.headers):
        decision = as_preflight(decision)
    exchange.decision = decision
    metrics.observe_decision(ROUTE_LABEL, decision, exchange.now)
    may_redirect = route.unauthenticated != 401 and wants_redirect(request, original)
    exchange.plan_cookies(decision, redirect=may_redirect)
    cookies, exchange.set_cookies = exchange.set_cookies, []  # sent here, with nginx copies
    try:
        response = _auth_answer(config, decision, route, original, may_redirect)
    except GatewayError as exc:
        response = error_response(exc, request, config, original.uri)
    copy_cookies(response, cookies)
    return response


def _auth_answer(
    config: GatewayConfig,
    decision: Decision,
    route: Route,
    original: Original,
    may_redirect: bool,
) -> web.Response:
    if decision.kind is Kind.FORBIDDEN:
        raise Forbidden(decision)
    if decision.kind in DENIED:
        raise LoginRequired(
            decision, route, return_to=original.uri, hint=True, may_redirect=may_redirect
        )
    response = web.Response(status=200, headers={"Cache-Control": NO_STORE})
    if decision.session and decision.state in (Kind.ALLOWED, Kind.REFRESHED):
        response.headers.extend(identity_values(decision.session.claims, config.identity_headers))
    return response
