"""The gateway's configuration as frozen, typed objects.

Built once by :mod:`gateway.config.load` from YAML; nothing downstream reads raw dicts. Durations
are whole seconds (``int``). Every object is immutable, so a reload swaps one reference and
requests in flight keep the config they started with.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

Flavor = Literal["nextauth-v4", "authjs-v5"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The cookie base name each flavor uses when the config does not name one.
DEFAULT_COOKIE = {"nextauth-v4": "next-auth.session-token", "authjs-v5": "authjs.session-token"}


@dataclass(frozen=True, slots=True)
class Address:
    """A host and port to listen on."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Upstream:
    """An upstream origin (``scheme://host:port``); ``label`` is its bounded metric label."""

    scheme: Literal["http", "https"]
    host: str
    port: int

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def label(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Policy:
    """Session lifetimes for one role, in seconds.

    ``max_age``: idle window since the cookie was last written (``iat``).
    ``update_age``: renew once the cookie is this old; ``None`` is a static session.
    ``absolute_max_age``: hard cap since sign-in (``auth_time``); ``None`` is no cap.
    """

    name: str
    max_age: int
    update_age: int | None = None
    absolute_max_age: int | None = None


@dataclass(frozen=True, slots=True)
class SessionSettings:
    flavor: Flavor
    cookie: str  # base name, without __Secure- and without a chunk suffix
    # first encrypts; every one decrypts. Kept out of repr: a printed config never shows them.
    secrets: tuple[str, ...] = field(repr=False)
    cookie_domain: str | None = None
    role_claim: str = "role"  # dotted path into the claims
    clock_skew: int = 15
    # The app's auth routes: <auth_path>/callback/... is its sign-in, <auth_path>/session
    # the endpoint a polling tab calls. Normalised, no trailing slash.
    auth_path: str = "/api/auth"

    @property
    def session_endpoint(self) -> str:
        return f"{self.auth_path}/session"


@dataclass(frozen=True, slots=True)
class LoginSettings:
    url: str = "/login"  # relative path, or an absolute http(s) URL
    callback_param: str = "callbackUrl"


@dataclass(frozen=True, slots=True)
class Route:
    """One routing rule. ``prefix`` is the normalised, lower-cased path prefix without a
    trailing slash (``""`` for ``/``); it matches on segment boundaries."""

    name: str
    path: str  # as written in the file, for display
    prefix: str
    upstream: Upstream
    public: bool = False
    roles: tuple[str, ...] | None = None  # None: any signed-in user
    unauthenticated: Literal["redirect", 401] = "redirect"
    # False: a passive route (a poll is not the user): never renewed, and an app re-issue
    # keeps the request's iat, so the idle clock does not move.
    activity: bool = True
    max_auth_age: int | None = None  # step-up: a sign-in at most this long ago


@dataclass(frozen=True, slots=True)
class Needs:
    """The claims of its own the gateway keeps in every session of this config, because a
    feature reads them. ``auth_time``: a route has ``max_auth_age`` (a policy with
    ``absolute_max_age`` needs it for its own sessions, see :meth:`auth_time_for`). ``sid``:
    revocation or the signed assertion. Nothing needed: a wave-1 config, nothing added."""

    auth_time: bool = False
    sid: bool = False

    def auth_time_for(self, policy: Policy) -> bool:
        return self.auth_time or policy.absolute_max_age is not None


@dataclass(frozen=True, slots=True)
class Limits:
    max_header_bytes: int = 32768
    decode_cache_entries: int = 100_000
    max_cookie_chunks: int = 8


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 5.0
    upstream: float = 60.0
    client_header: float = 10.0
    shutdown_grace: float = 20.0


@dataclass(frozen=True, slots=True)
class LogSettings:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["json", "text"] = "json"


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    source: str  # the file it was loaded from, for messages
    sha256: str  # hex digest of the file's bytes (gateway_config_info)
    listen: Address
    metrics_listen: Address
    upstream: Upstream
    session: SessionSettings
    policies: tuple[Policy, ...]  # in file order: the first matching role wins
    default_policy: str
    routes: tuple[Route, ...]  # in file order: the first match wins
    login: LoginSettings = field(default_factory=LoginSettings)
    public_url: str | None = None  # scheme://host[:port], no trailing slash
    identity_headers: tuple[tuple[str, str], ...] = ()  # (header, claim path)
    trusted_proxies: tuple[IPNetwork, ...] = ()
    preserve_host: bool = True
    preflight: Literal["pass", "authenticate"] = "pass"
    limits: Limits = field(default_factory=Limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    gateway_prefix: str = "/_gateway"
    log: LogSettings = field(default_factory=LogSettings)
    demo: bool = False  # the `make run` demo: loopback only, the public demo secret allowed
    needs: Needs = field(default_factory=Needs)  # derived from the rest at load
    warnings: tuple[str, ...] = ()  # problems that do not stop loading, one line each

    def policy(self, name: str) -> Policy:
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(name)

    @property
    def upstreams(self) -> tuple[Upstream, ...]:
        """Every distinct upstream, the default first."""
        seen = dict.fromkeys([self.upstream, *(r.upstream for r in self.routes)])
        return tuple(seen)


# The secret of the `make run` demo. It is public (it is in this repository), so the loader
# refuses it in any config without `demo: true`, and `demo: true` only listens on loopback.
DEMO_SECRET = "gateway-demo-only-this-secret-is-public-never-deploy-it"
