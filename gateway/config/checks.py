"""Rules that span sections of the file: the default policy names a policy, metrics never
share the proxied port, no route is shadowed or swallowed by the gateway's own prefix, the
demo stays on loopback, the login page is reachable signed out, the app's session endpoint
does not count as activity, and a step-up window is shorter than the idle windows.

Each records its problem through the :class:`~gateway.config.reader.Reader` (one line with
the key path and line of the value at fault) and returns nothing.
"""

from __future__ import annotations

import yaml

from gateway.config import values
from gateway.config.durations import format_duration
from gateway.config.model import Address, Needs, Policy, Route
from gateway.config.nodes import Field, Section, display
from gateway.config.nodes import Problems as _Problems
from gateway.config.reader import Reader
from gateway.config.routing import RouteEntry

WILDCARDS = ("0.0.0.0", "::")


def default_policy(r: Reader, top: Section) -> str | None:
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


def listeners(r: Reader, top: Section, listen: Address | None, metrics: Address | None) -> None:
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


def routes(r: Reader, top: Section, entries: list[RouteEntry], prefix: str | None) -> None:
    """First match wins: a route that an earlier route (or the gateway's own endpoints) always
    catches first would be dead, and a security rule on it would silently never apply."""
    for later_index, later in enumerate(entries):
        path_f = later.fields.get("path") or later.fields.field
        for earlier in entries[:later_index]:
            if values.covers(earlier.route.prefix, later.route.prefix):
                r.error(
                    path_f,
                    f"{display(later.route.path)} is never reached: "
                    f"{earlier.label} matches it first; list the more specific route first",
                )
                break
        if prefix is not None:
            _gateway_prefix(r, top, later, prefix)


def _gateway_prefix(r: Reader, top: Section, entry: RouteEntry, prefix: str) -> None:
    gateway = values.prefix_of(prefix)
    path_f = entry.fields.get("path") or entry.fields.field
    if values.covers(gateway, entry.route.prefix):
        r.error(
            path_f,
            f"{display(entry.route.path)} is inside gateway_prefix ({prefix}), "
            "which the gateway answers itself; move the route or gateway_prefix",
        )
    elif entry.route.prefix and values.covers(entry.route.prefix, gateway):
        f = top.get("gateway_prefix") or top.field
        r.error(
            f,
            f"{display(prefix)} would take part of {entry.label} silently; "
            "choose a prefix outside every route but /",
        )


def demo(r: Reader, top: Section, entries: list[RouteEntry]) -> None:
    """``demo: true`` allows the public demo secret, so it may only be reachable locally."""
    fields = [top.get("listen"), top.get("metrics_listen"), top.get("upstream")]
    fields += [entry.fields.get("upstream") for entry in entries]
    for f in fields:
        host = _host_of(r, f)
        if f is not None and host is not None and not values.is_loopback(host):
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
    for parse in (values.upstream, values.address):
        try:
            return parse(text).host
        except ValueError:
            continue
    return None


def login_page(r: Reader, top: Section, url: str, entries: list[RouteEntry]) -> None:
    """A relative login page that is not public answers its own redirect: a loop."""
    if not url.startswith("/"):
        return
    path = values.prefix_of(url.split("?", 1)[0].split("#", 1)[0])
    first = next((e for e in entries if values.covers(e.route.prefix, path)), None)
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


def session_endpoint(r: Reader, endpoint: str, entries: list[RouteEntry]) -> None:
    """A tab polling the app's session endpoint is not the user: where that endpoint counts
    as activity, every poll moves the idle clock and ``max_age`` never ends a session."""
    path, exact = values.prefix_of(endpoint), endpoint.rstrip("/")
    # As match_route reads it: a public route must hold the path as written, too.
    first = next(
        (
            e
            for e in entries
            if values.covers(e.route.prefix, path)
            and (not e.route.public or values.covers(e.route.path.rstrip("/"), exact))
        ),
        None,
    )
    if first is None or not first.route.activity:
        return
    r.warn(
        first.fields.get("path") or first.fields.field,
        f"the session endpoint {display(endpoint)} falls in {first.label}, which counts as "
        "activity: a polling tab keeps an idle session alive; add a route "
        f"{{path: {endpoint}, public: true, activity: false}} before it",
    )


def step_up(r: Reader, entries: list[RouteEntry], policies: list[Policy], default: str) -> None:
    """``max_auth_age`` asks for a sign-in more recent than the idle window of the policies
    that can reach the route: as long as one of them, it is not a step-up."""
    for entry in entries:
        seconds, f = entry.route.max_auth_age, entry.fields.get("max_auth_age")
        if seconds is None or f is None:
            continue
        for policy in _reaching(entry.route, policies, default):
            if seconds >= policy.max_age:
                r.warn(
                    f,
                    f"{r.shown(f)} is not shorter than policies.{policy.name}.max_age "
                    f"({format_duration(policy.max_age)}), a policy that can reach this "
                    "route; a step-up window shorter than the idle window asks for a recent "
                    "sign-in",
                )
                break


def _reaching(route: Route, policies: list[Policy], default: str) -> list[Policy]:
    """The policies a user allowed on the route may have: those its roles name, plus the
    default (a role without a policy of its name); every policy when any user may enter."""
    if route.roles is None:
        return policies
    return [p for p in policies if p.name in route.roles or p.name == default]


def needs(entries: list[RouteEntry]) -> Needs:
    """The claims every session of this config must carry (see :class:`Needs`)."""
    return Needs(auth_time=any(e.route.max_auth_age is not None for e in entries))
