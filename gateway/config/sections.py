"""One builder per section of the YAML file (oauth2-proxy's one validator per area).

Each builder reads its section through :class:`~gateway.config.reader.Reader` (which records
every problem) and returns the typed object, or ``None`` when a required part is unusable.
The key names are in :mod:`gateway.config.keys`; rules that span sections (route shadowing,
the demo guard, ...) in :mod:`gateway.config.checks`.
"""

from __future__ import annotations

from typing import Literal, cast

import yaml

from gateway.config import values
from gateway.config.durations import format_duration
from gateway.config.keys import (
    FLAVORS,
    FORMATS,
    HINTS,
    LEVELS,
    LIMITS,
    LOG,
    LOGIN,
    POLICY,
    SESSION,
    TIMEOUTS,
)
from gateway.config.model import (
    DEFAULT_COOKIE,
    DEMO_SECRET,
    Flavor,
    IPNetwork,
    Limits,
    LoginSettings,
    LogSettings,
    Policy,
    SessionSettings,
    Timeouts,
)
from gateway.config.nodes import Field, display
from gateway.config.reader import Reader

MIN_SECRET_LENGTH = 32  # NextAuth's docs generate 32 random bytes; shorter is guessable


def session(r: Reader, f: Field | None, *, demo: bool) -> SessionSettings | None:
    s = r.section(f, SESSION, HINTS) if f else None
    if s is None:
        return None
    flavor = r.choice(s.need("flavor"), FLAVORS, "nextauth-v4")
    default_cookie = DEFAULT_COOKIE[flavor or "nextauth-v4"]
    cookie = r.parse(s.get("cookie"), values.cookie_name, default_cookie)
    domain = r.parse(s.get("cookie_domain"), values.cookie_domain)
    role_claim = r.parse(s.get("role_claim"), values.claim_path, "role")
    clock_skew = r.duration(s.get("clock_skew"), 15)
    auth_path = r.parse(s.get("auth_path"), values.auth_path, "/api/auth")
    secrets = _secrets(r, s.need("secrets"), demo=demo)
    if flavor is None or cookie is None or role_claim is None or clock_skew is None:
        return None
    if secrets is None or (s.get("cookie_domain") and domain is None) or auth_path is None:
        return None
    kind: Flavor = "authjs-v5" if flavor == "authjs-v5" else "nextauth-v4"
    return SessionSettings(kind, cookie, secrets, domain, role_claim, clock_skew, auth_path)


def _secrets(r: Reader, f: Field | None, *, demo: bool) -> tuple[str, ...] | None:
    if f is None:
        return None
    if not isinstance(f.node, yaml.SequenceNode):  # a scalar here is likely the secret itself
        r.error(f, 'must be a list of secrets, e.g. ["${NEXTAUTH_SECRET}"]')
        return None
    found = [_secret(r, item, demo=demo) for item in r.sequence(f) or []]
    if not found:
        r.error(f, "must list at least one secret")
    good = [value for value in found if value is not None]
    return tuple(good) if found and len(good) == len(found) else None


def _secret(r: Reader, f: Field, *, demo: bool) -> str | None:
    value = r.text(f, secret=True)
    if value is None:
        return None
    if not value:
        r.error(f, "is empty")
        return None
    if value == DEMO_SECRET and not demo:
        r.error(f, "the public demo secret is refused outside the demo (demo: true)")
        return None
    if len(value) < MIN_SECRET_LENGTH:
        r.warn(
            f,
            f"the secret is shorter than {MIN_SECRET_LENGTH} characters; "
            "use a long random one (openssl rand -base64 32)",
        )
    return value


def login(r: Reader, f: Field | None) -> LoginSettings | None:
    s = r.section(f, LOGIN, HINTS) if f else None
    if s is None:
        return LoginSettings() if f is None else None
    url = r.parse(s.get("url"), values.login_url, "/login")
    param = r.parse(s.get("callback_param"), values.query_param, "callbackUrl")
    return LoginSettings(url, param) if url is not None and param is not None else None


def policies(r: Reader, f: Field | None) -> list[Policy] | None:
    s = r.section(f, None) if f else None
    if s is None:
        return None
    if not s.items:
        r.error(s.field, "must name at least one policy")
    found = [_policy(r, name, item) for name, item in s.items.items()]
    return [p for p in found if p is not None] if found and None not in found else None


def _policy(r: Reader, name: str, f: Field) -> Policy | None:
    valid_name = r.key_name(f, name, values.policy_name)
    s = r.section(f, POLICY, HINTS)
    if s is None:
        return None
    max_age = r.duration(s.need("max_age"), positive=True)
    update_age = r.duration(s.get("update_age"), positive=True)
    absolute = r.duration(s.get("absolute_max_age"), positive=True)
    update_f, max_f, absolute_f = s.get("update_age"), s.get("max_age"), s.get("absolute_max_age")
    if max_age is None or valid_name is None or (update_f and update_age is None):
        return None
    if update_f and update_age is not None and update_age >= max_age:
        r.error(
            update_f,
            f"{r.shown(update_f)} must be shorter than max_age "
            f"({format_duration(max_age)}); omit update_age for a static session",
        )
        return None
    if max_f and absolute is not None and max_age > absolute:
        r.warn(
            max_f,
            f"{r.shown(max_f)} is longer than absolute_max_age "
            f"({format_duration(absolute)}); the hard cap ends every session first",
        )
    if absolute_f and absolute is None:
        return None
    return Policy(valid_name, max_age, update_age, absolute)


def identity_headers(r: Reader, f: Field | None) -> tuple[tuple[str, str], ...] | None:
    s = r.section(f, None) if f else None
    if s is None:
        return () if f is None else None
    headers: list[tuple[str, str]] = []
    folded: dict[str, str] = {}
    for name, item in s.items.items():
        header = r.key_name(item, name, values.header_name)
        claim = r.parse(item, values.claim_path)
        key = values.fold_header(name)
        if key in folded:
            r.problems.error(
                item.line,
                item.path,
                f"{display(name)} is the same header as "
                f"{folded[key]} to a backend (case, _ and - are folded)",
                item.key_column,
            )
            header = None
        folded.setdefault(key, name)
        if header is not None and claim is not None:
            headers.append((header, claim))
    return tuple(headers) if len(headers) == len(s.items) else None


def trusted_proxies(r: Reader, f: Field | None) -> tuple[IPNetwork, ...] | None:
    items = r.sequence(f) if f else []
    if items is None:
        return None
    networks = [r.parse(item, values.network) for item in items]
    for item, net in zip(items, networks, strict=True):
        if net is not None and net.prefixlen == 0:
            r.warn(item, f"{r.shown(item)} trusts every client to set X-Forwarded-* headers")
    good = tuple(net for net in networks if net is not None)
    return good if len(good) == len(items) else None


def limits(r: Reader, f: Field | None) -> Limits | None:
    s = r.section(f, LIMITS, HINTS) if f else None
    if s is None:
        return Limits() if f is None else None
    defaults = Limits()
    header = r.integer(s.get("max_header_bytes"), defaults.max_header_bytes, 8192)
    cache = r.integer(s.get("decode_cache_entries"), defaults.decode_cache_entries, 1)
    chunks = r.integer(s.get("max_cookie_chunks"), defaults.max_cookie_chunks, 1, 64)
    if header is None or cache is None or chunks is None:
        return None
    return Limits(header, cache, chunks)


def timeouts(r: Reader, f: Field | None) -> Timeouts | None:
    s = r.section(f, TIMEOUTS, HINTS) if f else None
    if s is None:
        return Timeouts() if f is None else None
    defaults = Timeouts()
    seconds = [r.duration(s.get(key), int(getattr(defaults, key)), True) for key in TIMEOUTS]
    if any(value is None for value in seconds):
        return None
    return Timeouts(*(float(value or 0) for value in seconds))


def log(r: Reader, f: Field | None) -> LogSettings | None:
    s = r.section(f, LOG, HINTS) if f else None
    if s is None:
        return LogSettings() if f is None else None
    level = r.choice(s.get("level"), LEVELS, "info")
    fmt = r.choice(s.get("format"), FORMATS, "json")
    if level is None or fmt is None:
        return None
    return LogSettings(
        cast(Literal["debug", "info", "warning", "error"], level),
        cast(Literal["json", "text"], fmt),
    )
