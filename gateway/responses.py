"""Every answer the gateway makes itself, and the one place errors become responses.

The pipeline raises; :func:`error_response` matches the exception type and whether the
request is a browser navigation (Oathkeeper's ``when`` idea) and builds the 302 / 401 / 403 /
404 / 400 / 502 / 504. Nothing else in the gateway builds an error page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from http import HTTPStatus

from aiohttp import web

from gateway.config import GatewayConfig
from gateway.errors import BadRequest, Forbidden, LoginRequired, NotFound, UpstreamError
from gateway.navigation import is_navigation
from gateway.policy import Kind
from gateway.redirects import callback_target, login_location

NO_STORE = "private, no-store"
# The `error` codes of the 401 body and WWW-Authenticate, per decision.
ERROR_CODES = {
    Kind.UNAUTHENTICATED: "unauthenticated",
    Kind.INVALID: "invalid_session",
    Kind.EXPIRED: "session_expired",
}


def error_response(
    exc: Exception, request: web.BaseRequest, config: GatewayConfig, raw_path_qs: str
) -> web.Response:
    """The response for a request the gateway will not (or cannot) proxy."""
    navigation = is_navigation(request.method, request.headers)
    if isinstance(exc, LoginRequired):
        return _login_required(exc, config, navigation, raw_path_qs)
    status, code, title = _plain_error(exc)
    if navigation:
        return html_page(status, title)
    return json_response(status, {"error": code})


def _plain_error(exc: Exception) -> tuple[int, str, str]:
    if isinstance(exc, Forbidden):
        return 403, "forbidden", "You may not open this page."
    if isinstance(exc, NotFound):
        return 404, "not_found", "There is nothing here."
    if isinstance(exc, BadRequest):
        return 400, "bad_request", "This address cannot be served."
    if isinstance(exc, UpstreamError) and exc.reason == "timeout":
        return 504, "upstream_timeout", "The application took too long to answer."
    if isinstance(exc, UpstreamError):
        return 502, "upstream_unavailable", "The application is not answering."
    raise TypeError(f"no response for {type(exc).__name__}")


def _login_required(
    exc: LoginRequired, config: GatewayConfig, navigation: bool, raw_path_qs: str
) -> web.Response:
    return_to = raw_path_qs if exc.return_to is None else exc.return_to
    location = login_location(
        config.login, callback=callback_target(return_to), public_url=config.public_url
    )
    if navigation and exc.may_redirect:
        return web.Response(status=302, headers={"Location": location, "Cache-Control": NO_STORE})
    if exc.decision.kind is Kind.STEP_UP:
        response = reauthentication_required(exc.route.max_auth_age or 0)
    else:
        response = unauthorised(ERROR_CODES[exc.decision.kind])
    if exc.hint:
        response.headers["Location"] = location
    return response


def unauthorised(code: str) -> web.Response:
    response = json_response(401, {"error": code})
    response.headers["WWW-Authenticate"] = f'Session realm="gateway", error="{code}"'
    return response


def reauthentication_required(max_auth_age: int) -> web.Response:
    """A step-up for a background call: sign in again (the session is kept, so the call does
    not sign the user out); ``max_age`` as OpenID Connect's step-up challenge names it."""
    response = json_response(
        401, {"error": "reauthentication_required", "max_auth_age": max_auth_age}
    )
    response.headers["WWW-Authenticate"] = (
        f'Session realm="gateway", error="insufficient_user_authentication", max_age={max_auth_age}'
    )
    return response


def json_response(status: int, body: Mapping[str, object]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/json",
        headers={"Cache-Control": NO_STORE},
    )


def html_page(status: int, message: str) -> web.Response:
    reason = HTTPStatus(status).phrase
    body = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{status} {reason}</title>"
        f"</head><body><h1>{status} {reason}</h1><p>{html.escape(message)}</p></body></html>"
    )
    return web.Response(
        status=status, text=body, content_type="text/html", headers={"Cache-Control": NO_STORE}
    )
