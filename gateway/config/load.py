"""YAML -> :class:`~gateway.config.GatewayConfig`: DESIGN.md "Configuration (YAML)".

Every problem in a file is collected and raised together in one :class:`ConfigError`, one
line each (``config/gateway.yaml:14: policies.admin.update_age: 3h must be shorter than
max_age (2h)``), sorted by line. Problems that do not stop loading become
``GatewayConfig.warnings``. Secrets never appear in a message.

The sections are read by :mod:`gateway.schema`; this module assembles them and applies the
rules that span sections.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import yaml

from gateway.config import sections as schema
from gateway.config import values as validate
from gateway.config.durations import format_duration, parse_duration
from gateway.config.model import Address, GatewayConfig, Upstream
from gateway.config.nodes import Field, Section, compose, display
from gateway.config.nodes import Problems as _Problems
from gateway.config.reader import Reader
from gateway.config.sections import RouteEntry

__all__ = ["ConfigError", "format_duration", "load_config", "load_config_text", "parse_duration"]

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
WILDCARDS = ("0.0.0.0", "::")
# Stands in for an invalid default upstream so the routes are still checked against each
# other; the upstream's own error stops loading, so it never reaches a config.
_UNUSABLE = Upstream("http", "unusable.invalid", 80)


class ConfigError(Exception):
    """A config file that cannot be used; ``errors`` holds every problem, one line each."""

    def __init__(self, errors: Iterable[str], warnings: Iterable[str] = ()) -> None:
        self.errors = tuple(errors)
        self.warnings = tuple(warnings)
        super().__init__(self.errors, self.warnings)  # what pickling passes back

    def __str__(self) -> str:
        return "\n".join(self.errors)


def load_config(
    path: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> GatewayConfig:
    """Read and validate the file at ``path``; ``env`` (default ``os.environ``) feeds ``${VAR}``."""
    source = os.fspath(path)
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise ConfigError([f"{source}:1: cannot read the file: {exc.strerror or exc}"]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([f"{source}:{line}: the file is not UTF-8 text"]) from None
    return _load(text, source, hashlib.sha256(data).hexdigest(), env)


def load_config_text(text: str, source: str, env: Mapping[str, str] | None = None) -> GatewayConfig:
    """Validate YAML ``text``; ``source`` names it in messages."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _load(text, source, digest, env)


def _load(text: str, source: str, digest: str, env: Mapping[str, str] | None) -> GatewayConfig:
    problems = _Problems(source)
    root = compose(text, problems)
    config = None
    if root is not None:
        reader = Reader(problems, os.environ if env is None else env)
        config = _build(reader, Field("", 1, root), source, digest)
    elif not problems.errors:
        problems.error(1, "", "the file is empty; it must hold the gateway's settings")
    if config is None or problems.errors:
        raise ConfigError(problems.errors or (f"{source}:1: invalid config",), problems.warnings)
    return config


def _build(r: Reader, root: Field, source: str, digest: str) -> GatewayConfig | None:
    """Read every section (so every problem is found), check across them, then assemble."""
    top = r.section(root, TOP, schema.HINTS)
    if top is None:
        return None
    demo = r.boolean(top.get("demo"), False) is True
    upstream = r.parse(top.need("upstream"), validate.upstream)
    listen = r.parse(top.need("listen"), validate.address)
    metrics = r.parse(top.need("metrics_listen"), validate.address)
    session = schema.session(r, top.need("session"), demo=demo)
    login = schema.login(r, top.get("login"))
    policies = schema.policies(r, top.need("policies"))
    default_policy = _default_policy(r, top)
    entries = schema.routes(r, top.need("routes"), upstream or _UNUSABLE)
    prefix = r.parse(top.get("gateway_prefix"), validate.gateway_prefix, "/_gateway")
    public_url = r.parse(top.get("public_url"), validate.public_url)
    headers = schema.identity_headers(r, top.get("identity_headers"))
    proxies = schema.trusted_proxies(r, top.get("trusted_proxies"))
    preserve_host = r.boolean(top.get("preserve_host"), True)
    preflight = r.choice(top.get("preflight"), ("pass", "authenticate"), "pass")
    limits = schema.limits(r, top.get("limits"))
    timeouts = schema.timeouts(r, top.get("timeouts"))
    log = schema.log(r, top.get("log"))
    _check_listeners(r, top, listen, metrics)
    _check_routes(r, top, [e for e in entries if e], prefix)
    if demo:
        _check_demo(r, top, [e for e in entries if e])
    if None not in entries and login is not None and prefix is not None:
        _check_login_page(r, top, login.url, [e for e in entries if e])
    if (
        upstream is None
        or listen is None
        or metrics is None
        or session is None
        or login is None
        or policies is None
        or default_policy is None
        or prefix is None
        or headers is None
        or proxies is None
        or preserve_host is None
        or limits is None
        or timeouts is None
        or log is None
        or None in entries
    ):
        return None
    return GatewayConfig(
        source=source,
        sha256=digest,
        listen=listen,
        metrics_listen=metrics,
        upstream=upstream,
        session=session,
        policies=tuple(policies),
        default_policy=default_policy,
        routes=tuple(e.route for e in entries if e),
        login=login,
        public_url=public_url,
        identity_headers=headers,
        trusted_proxies=proxies,
        preserve_host=preserve_host,
        preflight=_preflight(preflight),
        limits=limits,
        timeouts=timeouts,
        gateway_prefix=prefix,
        log=log,
        demo=demo,
        warnings=r.problems.warnings,
    )


def _preflight(value: str | None) -> Literal["pass", "authenticate"]:
    return "authenticate" if value == "authenticate" else "pass"


def _default_policy(r: Reader, top: Section) -> str | None:
    """Checked against the names written under ``policies``, even if a policy is invalid."""
    f = top.need("default_policy")
    name = r.text(f)
    policies = top.get("policies")
    if f is None or name is None or policies is None:
        return name
    if not isinstance(policies.node, yaml.MappingNode):
        return name
    keys = [str(key.value) for key, _ in policies.node.value if isinstance(key, yaml.ScalarNode)]
    names = list(dict.fromkeys(keys))
    if name not in names:
        r.error(f, f"{r.shown(f)} is not one of the policies ({', '.join(names) or 'none'})")
        return None
    return name


def _check_listeners(
    r: Reader, top: Section, listen: Address | None, metrics: Address | None
) -> None:
    """/metrics must never be reachable on the proxied port."""
    f = top.get("metrics_listen")
    if f is None or listen is None or metrics is None or listen.port != metrics.port:
        return
    if listen.host == metrics.host or {listen.host, metrics.host} & set(WILDCARDS):
        r.error(
            f,
            f"{r.shown(f)} is the same address as listen ({listen}); "
            "metrics are never served on the proxied port",
        )


def _check_routes(r: Reader, top: Section, entries: list[RouteEntry], prefix: str | None) -> None:
    """First match wins: a route that an earlier route (or the gateway's own endpoints) always
    catches first would be dead, and a security rule on it would silently never apply."""
    for later_index, later in enumerate(entries):
        path_f = later.fields.get("path") or later.fields.field
        for earlier in entries[:later_index]:
            if validate.covers(earlier.route.prefix, later.route.prefix):
                r.error(
                    path_f,
                    f"{display(later.route.path)} is never reached: "
                    f"{earlier.label} matches it first; list the more specific route first",
                )
                break
        if prefix is not None:
            _check_gateway_prefix(r, top, later, prefix)


def _check_gateway_prefix(r: Reader, top: Section, entry: RouteEntry, prefix: str) -> None:
    gateway = validate.prefix_of(prefix)
    path_f = entry.fields.get("path") or entry.fields.field
    if validate.covers(gateway, entry.route.prefix):
        r.error(
            path_f,
            f"{display(entry.route.path)} is inside gateway_prefix ({prefix}), "
            "which the gateway answers itself; move the route or gateway_prefix",
        )
    elif entry.route.prefix and validate.covers(entry.route.prefix, gateway):
        f = top.get("gateway_prefix") or top.field
        r.error(
            f,
            f"{display(prefix)} would take part of {entry.label} silently; "
            "choose a prefix outside every route but /",
        )


def _check_demo(r: Reader, top: Section, entries: list[RouteEntry]) -> None:
    """``demo: true`` allows the public demo secret, so it may only be reachable locally."""
    fields = [top.get("listen"), top.get("metrics_listen"), top.get("upstream")]
    fields += [entry.fields.get("upstream") for entry in entries]
    for f in fields:
        host = _host_of(r, f)
        if f is not None and host is not None and not validate.is_loopback(host):
            r.error(
                f,
                f"{r.shown(f)} is not a loopback address; demo: true only runs on "
                "127.0.0.1, ::1 or localhost",
            )


def _host_of(r: Reader, f: Field | None) -> str | None:
    """The host in an address or upstream value already validated (no new messages)."""
    if f is None or not isinstance(f.node, yaml.ScalarNode):
        return None
    quiet = Reader(_Problems(""), r.env)
    text = quiet.text(f) or ""
    for parse in (validate.upstream, validate.address):
        try:
            return parse(text).host
        except ValueError:
            continue
    return None


def _check_login_page(r: Reader, top: Section, url: str, entries: list[RouteEntry]) -> None:
    """A relative login page that is not public answers its own redirect: a loop."""
    if not url.startswith("/"):
        return
    path = validate.prefix_of(url.split("?", 1)[0].split("#", 1)[0])
    first = next((e for e in entries if validate.covers(e.route.prefix, path)), None)
    if first is not None and first.route.public:
        return
    f = _login_url_field(r, top)
    why = f"{first.label} is not public" if first else "no route matches it"
    r.problems.warn(
        f.value_line if f.path == "login.url" else f.line,
        "login.url",
        f"{display(url)}: {why}; signed-out users would be redirected in a loop "
        "(add a route with public: true for the login page)",
    )


def _login_url_field(r: Reader, top: Section) -> Field:
    """Where the login page is written: ``login.url``, else ``login``, else the top."""
    login_f = top.get("login")
    section = Reader(_Problems(""), r.env).section(login_f, None) if login_f else None
    return (section.get("url") if section else None) or login_f or top.field
