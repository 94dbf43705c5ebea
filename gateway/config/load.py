"""YAML -> :class:`~gateway.config.model.GatewayConfig` (docs/configuration.md).

Every problem in a file is collected and raised together in one :class:`ConfigError`, one
line each (``config/gateway.yaml:14: policies.admin.update_age: 3h must be shorter than
max_age (2h)``), sorted by line. Problems that do not stop loading become
``GatewayConfig.warnings``. Secrets never appear in a message.

The sections are read by :mod:`gateway.config.sections`; this module assembles them, and
:mod:`gateway.config.checks` applies the rules that span sections.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from gateway.config import checks, routing, sections, values
from gateway.config.errors import ConfigError
from gateway.config.keys import HINTS, PREFLIGHT, TOP
from gateway.config.model import GatewayConfig, Upstream
from gateway.config.nodes import Field, compose
from gateway.config.nodes import Problems as _Problems
from gateway.config.reader import Reader

# Stands in for an invalid default upstream so the routes are still checked against each
# other; the upstream's own error stops loading, so it never reaches a config.
_UNUSABLE = Upstream("http", "unusable.invalid", 80)


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
    top = r.section(root, TOP, HINTS)
    if top is None:
        return None
    demo = r.boolean(top.get("demo"), False) is True
    upstream = r.parse(top.need("upstream"), values.upstream)
    listen = r.parse(top.need("listen"), values.address)
    metrics = r.parse(top.need("metrics_listen"), values.address)
    session = sections.session(r, top.need("session"), demo=demo)
    login = sections.login(r, top.get("login"))
    policies = sections.policies(r, top.need("policies"))
    default_policy = checks.default_policy(r, top)
    entries = routing.routes(r, top.need("routes"), upstream or _UNUSABLE)
    prefix = r.parse(top.get("gateway_prefix"), values.gateway_prefix, "/_gateway")
    public_url = r.parse(top.get("public_url"), values.public_url)
    headers = sections.identity_headers(r, top.get("identity_headers"))
    proxies = sections.trusted_proxies(r, top.get("trusted_proxies"))
    preserve_host = r.boolean(top.get("preserve_host"), True)
    preflight = r.choice(top.get("preflight"), PREFLIGHT, "pass")
    limits = sections.limits(r, top.get("limits"))
    timeouts = sections.timeouts(r, top.get("timeouts"))
    log = sections.log(r, top.get("log"))
    checks.listeners(r, top, listen, metrics)
    checks.routes(r, top, [e for e in entries if e], prefix)
    if demo:
        checks.demo(r, top, [e for e in entries if e])
    valid = [e for e in entries if e]
    if None not in entries and login is not None and prefix is not None:
        checks.login_page(r, top, login.url, valid)
    if session is not None:
        checks.session_endpoint(r, session.session_endpoint, valid)
    if policies is not None and default_policy is not None:
        checks.step_up(r, valid, policies, default_policy)
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
        needs=checks.needs(valid),
        warnings=r.problems.warnings,
    )


def _preflight(value: str | None) -> Literal["pass", "authenticate"]:
    return "authenticate" if value == "authenticate" else "pass"
