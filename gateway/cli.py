"""The command line: ``gateway run``, ``gateway check``, ``gateway explain``.

Exit codes: 0 success, 2 a bad file or bad arguments (as argparse does). Problems are printed
as lines, never as a traceback, and a secret is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence

from gateway import __version__
from gateway.config import ConfigError, GatewayConfig, Policy, Route, format_duration, load_config

DEFAULT_CONFIG = "config/gateway.yaml"
EXIT_OK, EXIT_NO_SESSION, EXIT_INVALID = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, bad arguments: argparse has printed
        return exc.code if isinstance(exc.code, int) else EXIT_INVALID
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_INVALID
    try:
        return handler(args)
    except BrokenPipeError:  # `gateway check | head`: the reader left; not worth a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="A session gateway for NextAuth.js / Auth.js apps: "
        "per-role session policies at the edge.",
    )
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_run(commands)
    _add_check(commands)
    _add_explain(commands)
    return parser


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="serve the gateway",
        description="Validate the config, then serve until SIGTERM.",
    )
    _config_option(run)
    run.add_argument(
        "--workers", type=_positive, default=1, metavar="N", help="worker processes (default: 1)"
    )
    run.add_argument("--debug", action="store_true", help="log why every request was decided")
    run.set_defaults(handler=_run)


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="validate a config file and print the effective settings",
        description="Validate without starting: exit 0 when the file is valid (warnings "
        "on stderr), 2 when it is not (every problem on stderr).",
    )
    _config_option(check)
    check.set_defaults(handler=_check)


def _add_explain(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = commands.add_parser(
        "explain",
        help="decode a session cookie and explain the decision for a path",
        description="Decode a session cookie with the configured secrets and print its claims, "
        "role, policy, when it renews and expires, and the decision for a path. "
        "Secrets are never printed.",
        epilog="Exit status: 0 the cookie decoded; 1 it holds no session or does not decrypt "
        "(the decision, with its reason, is still printed); 2 bad arguments or config.",
    )
    _config_option(explain)
    explain.add_argument(
        "--cookie",
        metavar="VALUE",
        required=True,
        help="the bare token, or a Cookie header value (name=value; "
        "name.0=...; chunks are joined, __Secure- preferred); "
        "- reads it from stdin, keeping it out of the process list",
    )
    explain.add_argument("--path", metavar="P", default="/", help="the request path (default: /)")
    explain.add_argument(
        "--at",
        metavar="TIME",
        help="evaluate at this time: ISO 8601 (UTC unless it has an offset) "
        "or unix seconds (default: now)",
    )
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.set_defaults(handler=_explain)


def _config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=DEFAULT_CONFIG,
        help=f"the YAML config (default: {DEFAULT_CONFIG})",
    )


def _positive(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _load(path: str) -> GatewayConfig | None:
    """The config, or ``None`` after printing every problem on stderr."""
    try:
        return load_config(path)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        _print_warnings(exc.warnings)
        return None


def _print_warnings(warnings: Sequence[str]) -> None:
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_INVALID
    print("\n".join(describe(config)))
    _print_warnings(config.warnings)
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    if _load(args.config) is None:
        return EXIT_INVALID
    from gateway.serve import serve  # lazy: `check` must not need the server's imports

    return serve(args.config, workers=args.workers, debug=args.debug)


def _explain(args: argparse.Namespace) -> int:
    from gateway import explain  # lazy: the codec is not needed by `check`

    try:
        at = explain.parse_time(args.at) if args.at is not None else float(int(time.time()))
    except ValueError as exc:
        print(f"gateway explain: --at: {exc}", file=sys.stderr)
        return EXIT_INVALID
    cookie = sys.stdin.read() if args.cookie == "-" else args.cookie
    config = _load(args.config)
    if config is None:
        return EXIT_INVALID
    _print_warnings(config.warnings)
    found = explain.explain(config, cookie, args.path, at)
    if args.json:
        print(json.dumps(explain.render_json(found), indent=2))
    else:
        print(explain.render_text(found))
    return EXIT_OK if found.decoded else EXIT_NO_SESSION


def describe(config: GatewayConfig) -> list[str]:
    """The effective settings, for ``gateway check``; secrets are only counted."""
    session = config.session
    secrets = f"{len(session.secrets)} secret{'s' if len(session.secrets) != 1 else ''}"
    return [
        f"{config.source}: valid (sha256 {config.sha256[:12]})",
        *(["demo: true (loopback only; the public demo secret is allowed)"] if config.demo else []),
        f"listen: {config.listen}",
        f"metrics_listen: {config.metrics_listen}",
        f"upstreams: {', '.join(upstream.origin for upstream in config.upstreams)}",
        f"public_url: {config.public_url or '(unset: redirects use relative locations)'}",
        f"session: {session.flavor}, cookie {session.cookie} (and __Secure-{session.cookie}), "
        f"{secrets}, role claim {session.role_claim}, clock skew "
        f"{format_duration(session.clock_skew)}, auth path {session.auth_path}",
        f"claims the gateway keeps in the cookie: {_needs(config)}",
        f"login: {config.login.url} (return address in {config.login.callback_param})",
        "policies (a user with several roles gets the first that matches):",
        *_table([_policy_row(policy) for policy in config.policies]),
        f"default_policy: {config.default_policy}",
        "routes (first match wins):",
        *_table([_route_row(route) for route in config.routes]),
        f"gateway_prefix: {config.gateway_prefix} (the gateway's own endpoints, never proxied)",
        "identity_headers: "
        + (
            ", ".join(f"{header} <- {claim}" for header, claim in config.identity_headers)
            or "(none)"
        ),
        "trusted_proxies: " + (", ".join(map(str, config.trusted_proxies)) or "(none)"),
    ]


def _policy_row(policy: Policy) -> list[str]:
    def shown(seconds: int | None, absent: str) -> str:
        return format_duration(seconds) if seconds is not None else absent

    return [
        policy.name,
        f"max_age {format_duration(policy.max_age)}",
        f"update_age {shown(policy.update_age, 'never (static)')}",
        f"absolute_max_age {shown(policy.absolute_max_age, 'none')}",
    ]


def _route_row(route: Route) -> list[str]:
    if route.public:
        access = "public"
    elif route.roles:
        access = f"roles {', '.join(route.roles)}"
    else:
        access = "any signed-in user"
    signed_out = "" if route.public else f"unauthenticated: {route.unauthenticated}"
    extras = [] if route.activity else ["passive"]
    if route.max_auth_age is not None:
        extras.append(f"max_auth_age {format_duration(route.max_auth_age)}")
    origin = f"-> {route.upstream.origin}"
    return [route.name, route.path, access, signed_out, ", ".join(extras), origin]


def _needs(config: GatewayConfig) -> str:
    needs = config.needs
    if needs.auth_time:
        auth_time = "auth_time (every session: a route has max_auth_age)"
    elif any(policy.absolute_max_age is not None for policy in config.policies):
        auth_time = "auth_time (sessions of policies with absolute_max_age)"
    else:
        auth_time = ""
    found = [text for text in (auth_time, "sid" if needs.sid else "") if text]
    return ", ".join(found) or "none (nothing needs them)"


def _table(rows: list[list[str]]) -> list[str]:
    """Rows as aligned columns, indented under their heading."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
