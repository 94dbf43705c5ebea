"""Issue 4, class 3: path tricks never carry a request past a role rule.

Two corpora go through a real gateway on the wire, unnormalised:

- tests/data/path_bypass.tsv: targets built to reach ``/admin/`` without the admin role (or a
  protected page without a session): dot segments raw and encoded, ``%2f``, ``\\``, ``//``,
  ``;``, case, trailing dots, ``#``/``%23``, query strings that look like public paths. Each
  row says what a signed-in user without the role and an anonymous browser must get, and for
  a 200 exactly which target the upstream must receive (what was checked is what is served).
- tests/data/path_tricks.tsv, the unit corpus of gateway.routes: every row's route decision
  and forwarded path, now as the upstream sees them.

The same bypass rows also go through the forward-auth endpoint as a trusted proxy's
``X-Original-URI``, and a hypothesis property strings tricky pieces together: whatever the
upstream receives, no backend reading of it is under ``/admin`` unless the user has the role,
and without a session it is under a public prefix.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import T0
from tests.support.live import LiveGateway, LiveLoop

DATA = Path(__file__).parent.parent / "data"
ROUTES = (
    "name: nextauth, path: /api/auth/, public: true",
    "name: login,    path: /login,     public: true",
    "name: public,   path: /public/,   public: true",
    "name: admin,    path: /admin/,    roles: [admin]",
    "name: api,      path: /api/,      unauthenticated: 401",
    "name: app,      path: /",
)
PUBLIC_PREFIXES = ("/api/auth", "/login", "/public")
NAV = ("Accept", "text/html")
BOB: dict[str, Any] = {"sub": "user-bob", "role": "general"}
ALICE: dict[str, Any] = {"sub": "user-alice", "role": "admin", "auth_time": T0 - 60}


@pytest.fixture(scope="module")
def gateway(_live_loop: LiveLoop) -> LiveGateway:
    return _live_loop.gateway("nextauth-v4", routes=ROUTES)


@pytest.fixture(scope="module")
def behind_proxy(_live_loop: LiveLoop) -> LiveGateway:
    return _live_loop.gateway("nextauth-v4", routes=ROUTES, trusted="127.0.0.1/32")


def unescape(text: str) -> str:
    return text.encode("ascii").decode("unicode_escape")


def as_bytes(target: str) -> bytes:
    return target.encode("utf-8", "surrogateescape")  # \udcff is the raw byte 0xff


def cookie(gateway: LiveGateway, claims: dict[str, Any]) -> tuple[str, str]:
    return ("Cookie", f"{gateway.cookie}={gateway.token(claims, iat=T0 - 60)}")


def check(gateway: LiveGateway, target: str, headers: list[tuple[str, str]], expected: str) -> None:
    """Send ``target`` and compare with an outcome of the corpus: a status, or
    ``200 <target the upstream receives>``; nothing reaches the upstream otherwise."""
    response, seen = gateway.send(as_bytes(target), headers)
    status, _, forwarded = expected.partition(" ")
    assert response.status == int(status), (target, response.status, response.body[:200])
    if forwarded:
        assert seen is not None and seen.raw_path == forwarded
    else:
        assert seen is None


# --- the bypass corpus ---------------------------------------------------------------------


class Bypass(NamedTuple):
    id: str
    target: str
    signed_in: str  # outcome for a user without the admin role
    anonymous: str  # outcome for an anonymous browser navigation


def _bypasses() -> list[Bypass]:
    rows = []
    for line in (DATA / "path_bypass.tsv").read_text(encoding="ascii").splitlines():
        if line and not line.startswith("#"):
            ident, target, signed_in, anonymous = line.split("\t")
            rows.append(Bypass(ident, unescape(target), signed_in, anonymous))
    return rows


BYPASSES = _bypasses()
BYPASS_IDS = [row.id for row in BYPASSES]


def test_bypass_corpus_is_sound() -> None:
    assert len(set(BYPASS_IDS)) == len(BYPASSES) >= 60
    assert {row.signed_in.split()[0] for row in BYPASSES} == {"200", "400", "403"}


@pytest.mark.parametrize("row", BYPASSES, ids=BYPASS_IDS)
def test_no_role_no_admin(gateway: LiveGateway, row: Bypass) -> None:
    check(gateway, row.target, [NAV, cookie(gateway, BOB)], row.signed_in)


@pytest.mark.parametrize("row", BYPASSES, ids=BYPASS_IDS)
def test_no_session_no_protected_page(gateway: LiveGateway, row: Bypass) -> None:
    check(gateway, row.target, [NAV], row.anonymous)


@pytest.mark.parametrize(
    "row",
    [r for r in BYPASSES if r.signed_in == "403"],
    ids=[r.id for r in BYPASSES if r.signed_in == "403"],
)
def test_the_admin_role_is_served_what_was_checked(gateway: LiveGateway, row: Bypass) -> None:
    """The same targets with the role: served, and the upstream path is under /admin."""
    response, seen = gateway.send(as_bytes(row.target), [NAV, cookie(gateway, ALICE)])
    assert response.status == 200 and seen is not None
    assert any(under(path, "/admin") for path in readings(seen.raw_path)), seen.raw_path


FORWARD_AUTH = {"200": "200", "400": "400", "403": "403", "302": "401", "401": "401"}
# What a proxy may put in X-Original-URI: nginx's $request_uri is an origin-form target that
# nginx itself accepted (no backslash).
AS_URI = [row for row in BYPASSES if "\\" not in row.target and row.target.startswith("/")]


@pytest.mark.parametrize("row", AS_URI, ids=[row.id for row in AS_URI])
def test_forward_auth_reads_the_original_uri_the_same_way(
    behind_proxy: LiveGateway, row: Bypass
) -> None:
    uri = ("X-Original-URI", row.target)
    for claims, expected in ((BOB, row.signed_in), (None, row.anonymous)):
        headers = [NAV, uri] + ([cookie(behind_proxy, claims)] if claims else [])
        response, seen = behind_proxy.send("/_gateway/auth", headers)
        assert response.status == int(FORWARD_AUTH[expected.split()[0]]), (row.id, claims)
        assert seen is None  # forward-auth answers itself, it never proxies


# --- the unit corpus of gateway.routes, end to end --------------------------------------------


class Trick(NamedTuple):
    id: str
    raw: str
    forward: str  # "-" for BADPATH rows
    route: str


def _tricks() -> list[Trick]:
    rows = []
    for line in (DATA / "path_tricks.tsv").read_text(encoding="ascii").splitlines():
        if line and not line.startswith("#"):
            ident, raw, _, forward, route = line.split("\t")
            # A raw "?" starts the query on the wire; the unit corpus means it inside the path.
            if "?" not in raw:
                rows.append(Trick(ident, unescape(raw), unescape(forward), route))
    return rows


TRICKS = _tricks()
PUBLIC_ROUTES = {"nextauth", "login", "public"}


@pytest.mark.parametrize("row", TRICKS, ids=[row.id for row in TRICKS])
def test_route_corpus_through_the_gateway(gateway: LiveGateway, row: Trick) -> None:
    anonymous, general, admin = ("400",) * 3  # refused by the gateway, or by the parser:
    if row.route != "-" and row.raw.isascii():  # raw UTF-8 in a request line is refused too
        served = f"200 {row.forward}"
        anonymous = (
            served if row.route in PUBLIC_ROUTES else ("401" if row.route == "api" else "302")
        )
        general = "403" if row.route == "admin" else served
        admin = served
    check(gateway, row.raw, [NAV], anonymous)
    check(gateway, row.raw, [NAV, cookie(gateway, BOB)], general)
    check(gateway, row.raw, [NAV, cookie(gateway, ALICE)], admin)


@pytest.mark.parametrize("target", ["/admin%0a", "/x/%0A/y", "/%0d%0a"])
def test_encoded_newline_is_the_gateways_400(gateway: LiveGateway, target: str) -> None:
    response, seen = gateway.send(target, [("Accept", "application/json")])
    assert (response.status, seen) == (400, None)
    assert response.json() == {"error": "bad_request"}


# --- property: whatever reaches the upstream, every backend reading is allowed ---------------


def readings(target: str) -> set[str]:
    """The paths a backend might make of ``target``: as sent, decoded once or twice, with
    ``\\`` as ``/``; each with dot segments resolved, slashes merged, case and trailing dots
    folded. Written independently of gateway.routes."""
    path = target.partition("?")[0].partition("#")[0]
    out = set()
    for text in (path, unquote(path), unquote(unquote(path))):
        for form in (text, text.replace("\\", "/")):
            out.add(_resolve(form))
    return out


def _resolve(path: str) -> str:
    stack: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            stack = stack[:-1]
        elif segment not in ("", "."):
            folded = unicodedata.normalize("NFKC", segment).lower()
            stack.append(folded.rstrip(". ").split(";")[0])
    return "/" + "/".join(stack)


def under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


_PIECES = st.sampled_from(
    [
        "/",
        "//",
        "\\",
        ".",
        "..",
        "%2e",
        "%2E%2e",
        "%2f",
        "%2F",
        "%5c",
        ";",
        "%3b",
        "#",
        "%23",
        "?",
        "%3f",
        "%00",
        "%20",
        "%c0%ae",
        "%252e",
        "admin",
        "ADMIN",
        "Admin.",
        "%61dmin",
        "public",
        "login",
        "api",
        "auth",
        "x",
    ]
)
_TARGETS = st.lists(_PIECES, min_size=1, max_size=10).map(lambda parts: "/" + "".join(parts))


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(target=_TARGETS)
def test_any_tricky_path_is_served_only_as_allowed(gateway: LiveGateway, target: str) -> None:
    response, seen = gateway.send(target, [NAV, cookie(gateway, BOB)])
    assert response.status in (200, 400, 403, 404), response.status
    if seen is not None:
        assert not any(under(path, "/admin") for path in readings(seen.raw_path)), seen.raw_path
    response, seen = gateway.send(target, [NAV])
    assert response.status in (200, 302, 400, 401, 404), response.status
    if seen is not None:
        assert all(
            any(under(path, p) for p in PUBLIC_PREFIXES) for path in readings(seen.raw_path)
        ), seen.raw_path
