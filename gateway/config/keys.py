"""The schema's names: the keys of every section, the values a choice allows, and where a
key written in the wrong place (or under NextAuth's own name) belongs.

Kept apart from the builders that read them (:mod:`gateway.config.sections`), so the whole
schema can be read, documented and checked in one place.
"""

from __future__ import annotations

TOP = (
    "demo",
    "listen",
    "metrics_listen",
    "upstream",
    "public_url",
    "session",
    "login",
    "policies",
    "default_policy",
    "routes",
    "identity_headers",
    "trusted_proxies",
    "preserve_host",
    "preflight",
    "limits",
    "timeouts",
    "gateway_prefix",
    "log",
)
SESSION = (
    "flavor",
    "cookie",
    "cookie_domain",
    "secrets",
    "role_claim",
    "clock_skew",
    "auth_path",
)
LOGIN = ("url", "callback_param")
POLICY = ("max_age", "update_age", "absolute_max_age")
ROUTE = (
    "name",
    "path",
    "public",
    "roles",
    "unauthenticated",
    "upstream",
    "activity",
    "max_auth_age",
)
LIMITS = ("max_header_bytes", "decode_cache_entries", "max_cookie_chunks")
TIMEOUTS = ("connect", "upstream", "client_header", "shutdown_grace")
LOG = ("level", "format")
FLAVORS = ("nextauth-v4", "authjs-v5")
LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("json", "text")
PREFLIGHT = ("pass", "authenticate")

# A key written in the wrong section, or under NextAuth's own name: where it belongs.
HINTS = {
    **{key: f"session.{key}" for key in SESSION},
    **{key: f"login.{key}" for key in LOGIN},
    **{key: f"policies.<name>.{key}" for key in POLICY},
    **{key: f"limits.{key}" for key in LIMITS},
    **{key: f"log.{key}" for key in LOG},
    **{key: f"timeouts.{key}" for key in TIMEOUTS if key != "upstream"},
    "secret": "session.secrets",
    "sign_in": "login.url",
    "pages": "login.url",
    "callback_url": "login.callback_param",
    "cookie_name": "session.cookie",
}
