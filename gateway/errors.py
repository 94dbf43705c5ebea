"""The ways a request can end without being proxied: a leaf module, so that any stage may
raise them and nothing has to import the code that answers them.

Every one of them is turned into a response in one place,
:func:`gateway.responses.error_response`, by its type and by whether the request is a browser
navigation. A message never holds request bytes, tokens or secrets: only a short reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # types only: this module imports nothing of the gateway at run time
    from gateway.config import Route, Upstream
    from gateway.policy import Decision

UpstreamReason = Literal["connect", "timeout", "reset"]


class GatewayError(Exception):
    """A request the gateway answers itself instead of proxying."""


class LoginRequired(GatewayError):
    """No valid session, or one signed in too long ago for the route (a step-up: the
    decision's kind says which). ``return_to`` (default: the request's own path and query) goes in
    the login URL; ``may_redirect`` (default: the route allows it) lets a browser navigation
    get the 302; ``hint`` puts the login URL in a ``Location`` header on the 401 (forward-auth
    for nginx, which turns it into the redirect itself)."""

    def __init__(
        self,
        decision: Decision,
        route: Route,
        *,
        return_to: str | None = None,
        may_redirect: bool | None = None,
        hint: bool = False,
    ) -> None:
        super().__init__(decision.kind.value)
        self.decision = decision
        self.route = route
        self.return_to = return_to
        self.may_redirect = route.unauthenticated != 401 if may_redirect is None else may_redirect
        self.hint = hint


class Forbidden(GatewayError):
    """The session is valid, but its roles may not enter the route (403)."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("forbidden")
        self.decision = decision


class NotFound(GatewayError):
    """No route matches, or nothing lives at that gateway endpoint (404)."""


class BadRequest(GatewayError):
    """A request the gateway refuses to read (400)."""


class BadPath(BadRequest, ValueError):
    """A path that cannot be normalised safely (400). The message is a short reason, never
    the path. A ``ValueError`` too, for callers that only parse (``gateway explain``)."""


class UpstreamError(GatewayError):
    """The upstream failed before the client saw a response: 502 (connect, reset) or 504."""

    def __init__(self, reason: UpstreamReason, upstream: Upstream, detail: str = "") -> None:
        # The message names the upstream and the failure, never the path: it may carry tokens.
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"upstream {upstream.label}: {reason}{suffix}")
        self.reason: UpstreamReason = reason
        self.upstream = upstream
