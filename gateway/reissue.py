"""The app's own session cookie on its way back: sign-ins, re-issues and passive routes.

When the upstream's answer sets the session cookie, the app's cookie wins over a renewal of
ours (it knows more: a role change, an ``update()``), but it knows nothing of the gateway's own
claims or of the idle clock, so the gateway checks it before it leaves:

- a **sign-in** (the answer to the app's sign-in callback, ``<auth_path>/callback/...``, or a
  cookie for a request without a valid session of that ``sub``): where the config needs them,
  ``auth_time = now`` and a new ``sid``; everything else, ``exp`` included, as the app wrote it;
- a **re-issue** (the same ``sub`` as the request's valid session): that session's
  ``auth_time`` (else its ``iat``) and ``sid`` are carried over;
- a re-issue on a **passive route** also keeps the request's ``iat`` (the idle clock does not
  move), with ``exp`` capped to what the policy allows from there and ``Expires`` matching.

Trust assumption: the app is trusted with its own claims (it holds the secret), but not with
the idle clock or the sign-in time, which the gateway enforces. A cookie that does not
decrypt with our secrets, or a deletion, passes as the app wrote it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.config import GatewayConfig, Route
from gateway.exchange import Exchange
from gateway.observe import GatewayMetrics
from gateway.policy import Kind, new_sid, number, policy_for, signed_in_at
from gateway.responses import NO_STORE
from gateway.session import AppCookie, Session

log = logging.getLogger("gateway.server")
VALID = (Kind.ALLOWED, Kind.REFRESHED)


@dataclass(frozen=True, slots=True)
class Reissue:
    """The app's cookie as the gateway rewrites it. ``expires``: None keeps the app's own
    ``Expires``; ``held_back``: the app moved ``iat`` on a passive route and we did not."""

    claims: dict[str, Any]
    expires: int | None = None
    held_back: bool = False


def is_sign_in_callback(config: GatewayConfig, match_path: str) -> bool:
    """Whether the request answers the app's sign-in (the folded path, as routes match)."""
    return match_path.startswith(config.session.auth_path.lower() + "/callback/")


def rewritten(
    app: Mapping[str, Any],
    session: Session | None,
    route: Route,
    config: GatewayConfig,
    now: int,
    callback: bool,
) -> Reissue | None:
    """What the app's new session claims ``app`` become, or None to send them unchanged.

    Claims without a numeric ``iat`` and ``exp`` pass as the app wrote them: there is no clock
    to keep or cap, and the gateway refuses that cookie (invalid) on its next request."""
    if number(app.get("iat")) is None or number(app.get("exp")) is None:
        return None
    same_user = session is not None and app.get("sub") == session.claims.get("sub")
    if callback or session is None or not same_user:
        return _signed_in(app, config, now)
    plan = _reissued(app, session, route, config)
    return None if plan.claims == dict(app) else plan


def _signed_in(app: Mapping[str, Any], config: GatewayConfig, now: int) -> Reissue | None:
    needs, added = config.needs, dict[str, Any]()
    if needs.auth_time_for(policy_for(app, config)):
        added["auth_time"] = now
    if needs.sid:
        added["sid"] = new_sid()
    return Reissue({**app, **added}) if added else None


def _reissued(
    app: Mapping[str, Any], session: Session, route: Route, config: GatewayConfig
) -> Reissue:
    old, claims = session.claims, dict(app)
    if _keeps_sign_in_time(app, old, config):
        claims["auth_time"] = old["auth_time"] if "auth_time" in old else int(float(old["iat"]))
    if "sid" in old:
        claims["sid"] = old["sid"]
    elif config.needs.sid and "sid" not in claims:
        claims["sid"] = new_sid()
    if route.activity:
        return Reissue(claims)
    return _held_back(claims, old, config)


def _keeps_sign_in_time(
    app: Mapping[str, Any], old: Mapping[str, Any], config: GatewayConfig
) -> bool:
    """Whether the re-issue carries the session's ``auth_time`` (else its ``iat``): where it
    has one, where a policy of either side needs one, and where the app wrote one (the app
    never moves the sign-in time). Otherwise the claim stays absent, as in a wave-1 config."""
    needs = config.needs
    if "auth_time" in old or "auth_time" in app:
        return True
    return needs.auth_time_for(policy_for(app, config)) or needs.auth_time_for(
        policy_for(old, config)
    )


def _held_back(claims: dict[str, Any], old: Mapping[str, Any], config: GatewayConfig) -> Reissue:
    """The request's ``iat`` kept; ``exp`` no later than the app's, the idle window from that
    ``iat``, or the hard cap."""
    iat, app_iat = int(float(old["iat"])), number(claims.get("iat"))
    policy = policy_for(claims, config)
    ends = [int(float(claims["exp"])), iat + policy.max_age]
    if policy.absolute_max_age is not None:
        ends.append(int(signed_in_at(claims)) + policy.absolute_max_age)
    claims.update(iat=iat, exp=min(ends))
    return Reissue(claims, expires=claims["exp"], held_back=app_iat != iat)


def attach_cookies(
    response: web.StreamResponse,
    exchange: Exchange,
    route: Route,
    metrics: GatewayMetrics,
    match_path: str,
) -> None:
    """Add our Set-Cookie to a proxied response. When the app set the session cookie itself,
    its cookie wins: ours is dropped, the app's is rewritten where :func:`rewritten` says,
    and request cookies the app's layout does not reuse are deleted, so the browser never
    keeps a stale chunk beside the app's cookie. ``match_path``: the request's folded path
    (whether it answers the sign-in callback is only asked when the app set the cookie)."""
    sessions, found = exchange.snapshot.sessions, exchange.found
    app = sessions.app_cookies(response.headers.getall("Set-Cookie", ()))
    cookies = exchange.set_cookies
    if app:
        family = {cookie.name for cookie in app}
        stale = [name for name in (found.present if found else ()) if name not in family]
        cookies = sessions.delete_names(stale, exchange.secure)
        callback = is_sign_in_callback(exchange.snapshot.config, match_path)
        replaced = _rewrite(app, exchange, route, metrics, callback)
        if replaced:
            _drop_set_cookies(response, family)
            cookies = replaced + cookies
    for cookie in cookies:
        response.headers.add("Set-Cookie", cookie)
    if cookies:
        response.headers["Cache-Control"] = NO_STORE


def _rewrite(
    app: list[AppCookie],
    exchange: Exchange,
    route: Route,
    metrics: GatewayMetrics,
    callback: bool,
) -> list[str] | None:
    live = [cookie for cookie in app if not cookie.deletes]
    if not live:
        return None
    sessions, decision = exchange.snapshot.sessions, exchange.decision
    read = sessions.read_app(live)
    if read is None:
        log.debug("the app set a session cookie our secrets do not open; passed unchanged")
        return None
    name, claims = read
    valid = decision is not None and decision.state in VALID
    session = decision.session if decision is not None and valid else None
    config = exchange.snapshot.config
    plan = rewritten(claims, session, route, config, int(exchange.now), callback)
    if plan is None:
        return None
    if plan.held_back:
        metrics.passive_reissue(policy_for(plan.claims, config).name)
    expires = plan.expires if plan.expires is not None else live[0].expires
    if expires is None:
        expires = int(float(plan.claims["exp"]))
    return sessions.rewrite(name, plan.claims, expires, exchange.secure, [c.name for c in app])


def _drop_set_cookies(response: web.StreamResponse, names: set[str]) -> None:
    kept = [
        c
        for c in response.headers.getall("Set-Cookie", ())
        if c.partition("=")[0].strip() not in names
    ]
    response.headers.popall("Set-Cookie", None)
    for cookie in kept:
        response.headers.add("Set-Cookie", cookie)
