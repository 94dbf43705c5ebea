"""Forward-auth mode: ``GET {gateway_prefix}/auth`` answers for a proxy that proxies itself
(nginx ``auth_request``, Traefik ``forwardAuth``, Caddy ``forward_auth``).

Trust assumption: the original method and URI are read from ``X-Forwarded-Method`` /
``X-Original-Method`` and ``X-Original-URI`` / ``X-Forwarded-Uri`` only when the peer is in
``trusted_proxies``; from anyone else the question is about ``GET /``, so a client cannot ask
about a path of its choosing and replay the answer.

Answers: 200 with the identity headers (and ``Set-Cookie`` when the session was renewed or
must be removed); 403 when the role may not enter; 401 JSON with a ``Location`` hint to the
login page otherwise — nginx maps that 401 to a redirect with ``error_page``. With
``?redirect=true`` (Traefik, Caddy: they hand the auth answer to the browser as it is), a
browser navigation gets the 302 itself. Every ``Set-Cookie`` line is repeated as
``X-Gateway-Cookie-<n>``, because nginx's ``auth_request_set`` keeps only one ``Set-Cookie``
and a chunked renewal has several.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.errors import BadPath
from gateway.navigation import is_navigation
from gateway.trust import ClientView

URI_HEADERS = ("X-Original-URI", "X-Forwarded-Uri")
METHOD_HEADERS = ("X-Forwarded-Method", "X-Original-Method")
COOKIE_COPY = "X-Gateway-Cookie-{}"


@dataclass(frozen=True, slots=True)
class Original:
    """The request the proxy is asking about."""

    method: str
    uri: str  # path and query, as the client sent it

    @property
    def path(self) -> str:
        return self.uri.partition("#")[0].partition("?")[0]


def original_request(request: web.BaseRequest, view: ClientView) -> Original:
    if not view.trusted:
        return Original("GET", "/")
    headers = request.headers
    uris = {headers[h] for h in URI_HEADERS if h in headers}
    methods = {headers[h] for h in METHOD_HEADERS if h in headers}
    if len(uris) > 1 or len(methods) > 1:
        # A proxy sets one of them; the other then came from the client.
        raise BadPath("the original request is named twice, differently")
    method = methods.pop() if methods else "GET"
    return Original(method.upper() if method.isalpha() else "GET", uris.pop() if uris else "/")


def wants_redirect(request: web.BaseRequest, original: Original) -> bool:
    return request.query.get("redirect") == "true" and is_navigation(
        original.method, request.headers
    )


def copy_cookies(response: web.StreamResponse, cookies: list[str]) -> None:
    """``Set-Cookie`` lines, and their numbered copies for nginx."""
    for index, cookie in enumerate(cookies):
        response.headers.add("Set-Cookie", cookie)
        response.headers[COOKIE_COPY.format(index)] = cookie
