"""The ``routes`` section: one builder per route, in file order (first match wins).

Rules that compare routes with each other or with other sections (shadowing, the gateway's
prefix, the login page, the session endpoint, step-up against the policies) are in
:mod:`gateway.config.checks`; this module reads each route on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.config import values
from gateway.config.keys import HINTS, ROUTE
from gateway.config.model import Route, Upstream
from gateway.config.nodes import Field, Section
from gateway.config.reader import Reader

UNAUTHENTICATED: dict[str | None, Literal["redirect", 401]] = {"redirect": "redirect", "401": 401}


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """A valid route with where it was written, for rules that compare routes."""

    index: int
    fields: Section
    route: Route

    @property
    def label(self) -> str:
        return f"routes[{self.index}] ({self.route.name}, {self.route.path})"


def routes(r: Reader, f: Field | None, upstream: Upstream | None) -> list[RouteEntry | None]:
    """One entry per route in the file, ``None`` where a route is invalid."""
    items = r.sequence(f) if f else None
    if f is None or items is None:
        return [None]
    if not items:
        r.error(f, "must list at least one route")
    first: dict[str, int] = {}
    return [_route(r, index, item, upstream, first) for index, item in enumerate(items)]


def _route(
    r: Reader, index: int, f: Field, default: Upstream | None, first: dict[str, int]
) -> RouteEntry | None:
    s = r.section(f, ROUTE, HINTS)
    if s is None:
        return None
    name = _route_name(r, s, index, first)
    path = r.parse(s.need("path"), values.path_prefix)
    public = r.boolean(s.get("public"), False)
    roles = _roles(r, s.get("roles"))
    mode = UNAUTHENTICATED.get(r.choice(s.get("unauthenticated"), ("redirect", "401"), "redirect"))
    upstream = r.parse(s.get("upstream"), values.upstream, default)
    activity = r.boolean(s.get("activity"), True)
    ok, max_auth_age = _max_auth_age(r, s, public)
    if not _public_fits(r, s, public) or not ok:
        return None
    if name is None or path is None or public is None or mode is None or upstream is None:
        return None
    if activity is None or (s.get("roles") and roles is None):
        return None
    prefix = values.prefix_of(path)
    route = Route(name, path, prefix, upstream, public, roles, mode, activity, max_auth_age)
    return RouteEntry(index, s, route)


def _public_fits(r: Reader, s: Section, public: bool | None) -> bool:
    """A public route lets anyone in: roles on it would never apply."""
    roles_f = s.get("roles")
    if public and roles_f:
        r.error(roles_f, "a public route cannot require roles; remove public or roles")
        return False
    return True


def _max_auth_age(r: Reader, s: Section, public: bool | None) -> tuple[bool, int | None]:
    """(valid, seconds): seconds is None when the key is not set."""
    f = s.get("max_auth_age")
    if f is None:
        return True, None
    seconds = r.duration(f, positive=True)
    if seconds is not None and public:
        r.error(f, "a public route lets anyone in; max_auth_age needs a protected route")
        return False, None
    return seconds is not None, seconds


def _route_name(r: Reader, s: Section, index: int, first: dict[str, int]) -> str | None:
    f = s.need("name")
    name = r.parse(f, values.route_name)
    if f is None or name is None:
        return None
    if name in first:
        r.error(f, f"{name} is already the name of routes[{first[name]}]; route names are unique")
        return None
    first[name] = index
    return name


def _roles(r: Reader, f: Field | None) -> tuple[str, ...] | None:
    items = r.sequence(f) if f else None
    if f is None or items is None:
        return None
    if not items:
        r.error(f, "must list at least one role (leave roles out to allow any signed-in user)")
    roles = [r.text(item) for item in items]
    for item, role in zip(items, roles, strict=True):
        if role == "":
            r.error(item, "is empty")
    good = tuple(role for role in roles if role)
    return good if items and len(good) == len(items) else None
