"""One request, top to bottom: route -> session -> decision -> headers -> forward -> cookies.

:func:`handle` is the gateway's only request handler. Each stage lives in its own module; this
one only wires them, so a newcomer can point at the line where each happens. Errors from any
stage are raised and turned into responses in :func:`gateway.responses.error_response`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import web
from multidict import CIMultiDict

from gateway.config import GatewayConfig, Route
from gateway.endpoints import is_gateway_path, own_endpoint
from gateway.errors import (
    Forbidden,
    GatewayError,
    LoginRequired,
    NotFound,
    UpstreamError,
)
from gateway.exchange import Exchange, new_request_id
from gateway.identity import identity_values
from gateway.navigation import is_navigation, is_preflight
from gateway.observe import log_access
from gateway.policy import DENIED, Decision, Kind, as_preflight, evaluate, signed_in_at
from gateway.reissue import attach_cookies
from gateway.responses import error_response
from gateway.routes import RequestPath, match_route, normalise
from gateway.session import SessionRead, parse_cookie_header, without
from gateway.state import GatewayState
from gateway.trust import client_view, forwarded_headers
from gateway.upstream import forward_http, forward_websocket, is_websocket_upgrade

Pairs = list[tuple[str, str]]
CLIENT_GONE = 499  # nginx's status for a client that closed the connection first


async def handle(request: web.BaseRequest, state: GatewayState) -> web.StreamResponse:
    snapshot = state.snapshot
    config = snapshot.config
    view = client_view(
        request.remote, request.headers, trusted=config.trusted_proxies, scheme=request.scheme
    )
    exchange = Exchange(snapshot, view, state.clock(), view.request_id or new_request_id())
    started = time.perf_counter()
    state.metrics.request_started()
    status, response = 500, None  # 500: a failure nothing below expected
    try:
        response = await _respond(request, state, exchange)
        status = response.status
        await _send(request, response, exchange.request_id, state.draining)
        return response
    except asyncio.CancelledError:
        status = CLIENT_GONE  # the client left (or shutdown's grace ran out): not a 5xx
        raise
    except web.HTTPException as exc:  # a malformed WebSocket handshake
        status = exc.status
        exc.headers["X-Request-Id"] = exchange.request_id
        raise
    finally:
        seconds = time.perf_counter() - started
        state.metrics.request_done(exchange.route, request.method, status, seconds)
        log_access(
            exchange,
            request.method,
            request.raw_path,
            status,
            seconds,
            response.body_length if response is not None else 0,
        )


async def _send(
    request: web.BaseRequest, response: web.StreamResponse, request_id: str, draining: bool
) -> None:
    """Send an answer the gateway made itself (a proxied one is out already), so that the
    access log sees its size, and the client gets the request id to quote."""
    if response.prepared:
        return
    response.headers["X-Request-Id"] = request_id
    if draining:
        close_connection(response)
    with contextlib.suppress(ConnectionError):  # gone: aiohttp drops the connection
        await response.prepare(request)
        await response.write_eof()


async def _respond(
    request: web.BaseRequest, state: GatewayState, exchange: Exchange
) -> web.StreamResponse:
    config = exchange.snapshot.config
    try:
        return await _proxy(request, state, exchange)
    except GatewayError as exc:
        if isinstance(exc, UpstreamError):
            state.metrics.upstream_failed(exc)
        response = error_response(exc, request, config, request.raw_path)
        for cookie in exchange.set_cookies:
            response.headers.add("Set-Cookie", cookie)
        return response


async def _proxy(
    request: web.BaseRequest, state: GatewayState, exchange: Exchange
) -> web.StreamResponse:
    config = exchange.snapshot.config
    path = normalise(request.raw_path.partition("?")[0])
    if is_gateway_path(config, path.match):
        return own_endpoint(request, state.metrics, exchange, path)
    route = _route(config, path, exchange)
    pairs = parse_cookie_header(request.headers.getall("Cookie", ()))
    exchange.found, read = exchange.snapshot.sessions.read(pairs)
    decision = exchange.decision = _decide(request, read, route, config, exchange.now)
    state.metrics.observe_decision(route.name, decision, exchange.now)
    exchange.plan_cookies(decision, redirect=_redirects(request, route, decision))
    if decision.kind is Kind.FORBIDDEN:
        raise Forbidden(decision)
    if decision.kind in DENIED:
        raise LoginRequired(decision, route)
    headers = _upstream_headers(request, exchange, pairs, route)
    return await _forward(request, state, route, path, headers, exchange)


def _route(config: GatewayConfig, path: RequestPath, exchange: Exchange) -> Route:
    route = match_route(config.routes, path)
    if route is None:
        raise NotFound()
    exchange.route = route.name
    return route


def _decide(
    request: web.BaseRequest, read: SessionRead, route: Route, config: GatewayConfig, now: float
) -> Decision:
    decision = evaluate(read, route, config, now)
    if config.preflight == "pass" and is_preflight(request.method, request.headers):
        return as_preflight(decision)
    return decision


def _redirects(request: web.BaseRequest, route: Route, decision: Decision) -> bool:
    """Whether a step-up is answered with the 302 to the login page (only then is the session
    deleted, so the login page cannot bounce straight back)."""
    if decision.kind is not Kind.STEP_UP:
        return False  # the common case: no need to read the request's headers
    return route.unauthenticated != 401 and is_navigation(request.method, request.headers)


def _upstream_headers(
    request: web.BaseRequest, exchange: Exchange, pairs: Pairs, route: Route
) -> CIMultiDict[str]:
    config, view = exchange.snapshot.config, exchange.view
    headers = exchange.snapshot.inbound.kept(
        request.headers, preflight=is_preflight(request.method, request.headers)
    )
    headers.extend(forwarded_headers(view))
    headers["X-Request-Id"] = exchange.request_id
    if not config.preserve_host or "Host" not in request.headers:
        headers["Host"] = route.upstream.label
    _rewrite_cookie(headers, exchange, pairs)
    decision = exchange.decision
    if decision and decision.session and decision.state in (Kind.ALLOWED, Kind.REFRESHED):
        headers.extend(identity_values(decision.session.claims, config.identity_headers))
    return headers


def _rewrite_cookie(headers: CIMultiDict[str], exchange: Exchange, pairs: Pairs) -> None:
    """Upstream never sees a session the policy refused, and sees a renewal as its new value
    (the app may know only the newest secret)."""
    decision, found = exchange.decision, exchange.found
    assert decision is not None and found is not None
    headers.popall("Cookie", None)
    # Look-alikes of the session cookie (the other __Secure- variant, names the app's
    # startsWith() would fold in) never reach the app: it must read only what was checked.
    stale = set(found.extraneous)
    if decision.drops_session or exchange.renewed_token:
        stale.update(found.present)
    kept: Pairs = [(n, v) for n, v in pairs if n not in stale]
    if exchange.renewed_token and decision.session:
        kept += exchange.snapshot.sessions.chunks(
            decision.session.cookie_name, exchange.renewed_token
        )
    value = without(kept, ())
    if value:
        headers["Cookie"] = value


def _target(request: web.BaseRequest, path: RequestPath) -> str:
    """The normalised path plus the query as sent (a fragment never goes upstream)."""
    _, mark, query = request.raw_path.partition("#")[0].partition("?")
    return path.forward + mark + query


async def _forward(
    request: web.BaseRequest,
    state: GatewayState,
    route: Route,
    path: RequestPath,
    headers: CIMultiDict[str],
    exchange: Exchange,
) -> web.StreamResponse:
    started = time.perf_counter()
    target = _target(request, path)

    def before_send(response: web.StreamResponse) -> None:
        exchange.upstream_seconds = time.perf_counter() - started
        response.headers["X-Request-Id"] = exchange.request_id
        if state.draining and response.status != 101:  # a WebSocket keeps its Upgrade
            close_connection(response)
        state.metrics.upstream_answered(route.upstream.label, exchange.upstream_seconds)
        attach_cookies(response, exchange, route, state.metrics, path.match)

    if is_websocket_upgrade(request):
        return await forward_websocket(
            request,
            state.pool,
            route.upstream,
            path_qs=target,
            headers=headers,
            before_send=before_send,
            close_at=_close_at(exchange),
            clock=state.clock,
        )
    return await forward_http(
        request,
        state.pool,
        route.upstream,
        path_qs=target,
        headers=headers,
        before_send=before_send,
        on_error=state.metrics.upstream_failed,
    )


def close_connection(response: web.StreamResponse) -> None:
    """While the gateway drains, every response ends its connection and says so
    (``Connection: close``), so a keep-alive client reconnects to one that is not stopping."""
    response.force_close()
    response.headers["Connection"] = "close"


def _close_at(exchange: Exchange) -> float | None:
    """When a WebSocket opened now must close: the session's idle or hard limit."""
    decision = exchange.decision
    if not decision or not decision.session or not decision.policy:
        return None
    claims, policy = decision.session.claims, decision.policy
    moved = exchange.renewed_token is not None and decision.moves_clock
    written = exchange.now if moved else float(claims["iat"])
    close_at = written + policy.max_age
    if policy.absolute_max_age is not None:
        close_at = min(close_at, signed_in_at(claims) + policy.absolute_max_age)
    return close_at
