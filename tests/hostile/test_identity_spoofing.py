"""Issue 4, class 2: a client can never say who it is, nor where it comes from.

The header lines of tests/data/identity_spoofing.tsv (every case, underscore, punctuation and
duplicate spelling of the configured X-Auth-Request-* headers, and malformed lines) are sent
on the wire as written, with and without a session, on protected and public routes and on
WebSocket upgrades. What counts is what the upstream received: under any spelling a backend
could fold into an identity header, only the gateway's own value, or nothing.

Hop-by-hop tricks (``Connection: X-Auth-Request-User`` and friends) must not make the gateway
drop its own identity or forwarding headers, and ``X-Forwarded-*`` (every header a framework
reads for the client's address, scheme or host) from a peer outside ``trusted_proxies`` is
replaced by the gateway's view, never appended to.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDictProxy

from gateway.trust import FORWARDING_HEADERS
from tests.support import T0
from tests.support.live import LiveGateway, LiveLoop, Seen

CORPUS = Path(__file__).parent.parent / "data" / "identity_spoofing.tsv"
IDENTITY = {
    "xauthrequestuser": "X-Auth-Request-User",
    "xauthrequestemail": "X-Auth-Request-Email",
    "xauthrequestrole": "X-Auth-Request-Role",
}
ALICE = {"sub": "user-alice", "email": "alice@example.com", "role": "admin", "auth_time": T0 - 60}
OURS = {
    "xauthrequestuser": ["user-alice"],
    "xauthrequestemail": ["alice@example.com"],
    "xauthrequestrole": ["admin"],
}
NOBODY: dict[str, list[str]] = {key: [] for key in IDENTITY}
SPOOF_WORDS = ("mallory", "evil.example", "6.6.6.6", "/admin")


class Line(NamedTuple):
    id: str
    raw: bytes
    outcome: str


def _corpus() -> list[Line]:
    rows = []
    for text in CORPUS.read_text(encoding="ascii").splitlines():
        if text and not text.startswith("#"):
            ident, raw, outcome = text.split("\t")
            rows.append(Line(ident, raw.encode().decode("unicode_escape").encode("utf-8"), outcome))
    return rows


LINES = _corpus()
STRIPPED = [line for line in LINES if line.outcome == "stripped"]


def fold(name: str) -> str:
    """Every folding a backend might apply to a header name, at once (CGI's ``-`` -> ``_``,
    case, punctuation dropped)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def identity_seen(headers: CIMultiDictProxy[str]) -> dict[str, list[str]]:
    """For each identity header, every value the upstream got under any folding spelling."""
    found: dict[str, list[str]] = {key: [] for key in IDENTITY}
    for name, value in headers.items():
        if fold(name) in found:
            found[fold(name)].append(value)
    return found


def session(gateway: LiveGateway) -> tuple[str, str]:
    return ("Cookie", f"{gateway.cookie}={gateway.token(ALICE, iat=T0 - 60)}")


def test_corpus_has_both_outcomes() -> None:
    assert {line.outcome for line in LINES} == {"stripped", "refused"}
    assert len({line.id for line in LINES}) == len(LINES)


@pytest.mark.parametrize("line", LINES, ids=[line.id for line in LINES])
@pytest.mark.parametrize(
    ("target", "signed_in", "expected"),
    [
        ("/reports", True, OURS),
        ("/login", False, NOBODY),
        ("/api/auth/session", True, OURS),
    ],
    ids=["protected", "public-anonymous", "public-signed-in"],
)
def test_spoofed_identity_never_reaches_the_upstream(
    live: LiveGateway, line: Line, target: str, signed_in: bool, expected: dict[str, list[str]]
) -> None:
    headers = [session(live)] if signed_in else []
    response, seen = live.send(target, headers, raw_lines=[line.raw])
    if line.outcome == "refused":
        assert (response.status, seen) == (400, None)
        return
    assert response.status == 200 and seen is not None
    assert identity_seen(seen.headers) == expected


def test_every_spelling_at_once_is_removed(live: LiveGateway) -> None:
    response, seen = live.send(
        "/reports", [session(live)], raw_lines=[line.raw for line in STRIPPED]
    )
    assert response.status == 200 and seen is not None
    assert identity_seen(seen.headers) == OURS
    assert not any(word in value for value in seen.headers.values() for word in SPOOF_WORDS)


def test_anonymous_request_refused_before_any_spoof_is_read(live: LiveGateway) -> None:
    response, seen = live.send(
        "/reports", [("Accept", "application/json")], raw_lines=[line.raw for line in STRIPPED]
    )
    assert response.status == 401 and seen is None


@pytest.mark.parametrize("line", STRIPPED, ids=[line.id for line in STRIPPED])
def test_websocket_upgrade_strips_spoofed_identity(live: LiveGateway, line: Line) -> None:
    response, seen = live.upgrade("/ws", [session(live)], raw_lines=[line.raw])
    assert response.status == 101 and seen is not None
    assert identity_seen(seen.headers) == OURS


def test_websocket_upgrade_on_a_public_route_carries_no_identity(live: LiveGateway) -> None:
    # The test upstream speaks WebSocket on /ws only, so this handshake fails upstream (502);
    # what matters is the handshake request the upstream received.
    response, seen = live.upgrade("/api/auth/ws", raw_lines=[line.raw for line in STRIPPED])
    assert response.status == 502 and seen is not None
    assert identity_seen(seen.headers) == NOBODY


def test_websocket_upgrade_without_session_is_refused(live: LiveGateway) -> None:
    response, seen = live.upgrade("/ws", raw_lines=[line.raw for line in STRIPPED])
    assert response.status == 401 and seen is None


# --- Connection: the client names headers as hop-by-hop ------------------------------------

CONNECTION_TRICKS = [
    "X-Auth-Request-User",
    "close, X-Auth-Request-User, X-Auth-Request-Email, X-Auth-Request-Role",
    "x-auth-request-user ,  CLOSE",
    "X_Auth_Request_User",
    "X-Forwarded-For, X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host, X-Request-Id",
    "Cookie",
    "Host",
    "close, close, , ,X-Auth-Request-Role",
]


@pytest.mark.parametrize("connection", CONNECTION_TRICKS)
def test_connection_cannot_remove_what_the_gateway_adds(live: LiveGateway, connection: str) -> None:
    response, seen = live.send(
        "/reports",
        [
            session(live),
            ("Connection", connection),
            ("X-Auth-Request-User", "mallory"),
            ("X-Forwarded-For", "6.6.6.6"),
        ],
    )
    assert response.status == 200 and seen is not None
    assert identity_seen(seen.headers) == OURS
    assert seen.headers.getall("X-Forwarded-For") == ["127.0.0.1"]
    assert seen.headers.getall("X-Real-IP") == ["127.0.0.1"]
    assert len(seen.headers.getall("X-Request-Id")) == 1
    assert seen.headers.getall("Host") == ["gw.test"]
    assert f"{live.cookie}=" in seen.headers["Cookie"]
    # What the client named never travels on as a hop-by-hop instruction to the upstream.
    assert "auth" not in seen.headers.get("Connection", "").lower()


@pytest.mark.parametrize(
    "connection", ["Upgrade, X-Auth-Request-User", "X-Auth-Request-Role, Upgrade, X-Forwarded-For"]
)
def test_connection_trick_on_websocket_upgrade(live: LiveGateway, connection: str) -> None:
    response, seen = live.upgrade(
        "/ws", [session(live), ("X-Auth-Request-User", "mallory")], connection=connection
    )
    assert response.status == 101 and seen is not None
    assert identity_seen(seen.headers) == OURS
    assert seen.headers.getall("X-Forwarded-For") == ["127.0.0.1"]


# --- X-Forwarded-* and friends from a peer that is not a trusted proxy ----------------------


def spellings(name: str) -> list[str]:
    title = "-".join(part.capitalize() for part in name.split("-"))
    return [title, name.upper(), name.replace("-", "_"), title.replace("-", "_").upper()]


FORWARDING = sorted(FORWARDING_HEADERS)


@pytest.mark.parametrize("name", FORWARDING)
def test_untrusted_forwarding_headers_are_replaced_not_appended(
    live: LiveGateway, name: str
) -> None:
    lies = [
        (spelling, value)
        for spelling in spellings(name)
        for value in ("6.6.6.6", "for=6.6.6.6;proto=https;host=evil.example")
    ]
    response, seen = live.send("/reports", [session(live), *lies])
    assert response.status == 200 and seen is not None
    assert_gateway_view(seen)


def assert_gateway_view(seen: Seen) -> None:
    """Forwarding headers exactly as the gateway sees a direct client on 127.0.0.1."""
    headers = seen.headers
    assert headers.getall("X-Forwarded-For") == ["127.0.0.1"]
    assert headers.getall("X-Real-IP") == ["127.0.0.1"]
    assert headers.getall("X-Forwarded-Proto") == ["http"]
    assert headers.getall("X-Forwarded-Host") == ["gw.test"]
    [request_id] = headers.getall("X-Request-Id")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # the gateway's, not the client's
    ours = {"xforwardedfor", "xrealip", "xforwardedproto", "xforwardedhost", "xrequestid"}
    others = {fold(name) for name in FORWARDING_HEADERS} - ours
    assert not [name for name in headers if fold(name) in others]
    assert not any(word in value for value in headers.values() for word in SPOOF_WORDS)


def test_every_forwarding_lie_at_once_on_a_public_route(live: LiveGateway) -> None:
    lies = [(spelling, "6.6.6.6") for name in FORWARDING for spelling in spellings(name)]
    response, seen = live.send("/login", lies)
    assert response.status == 200 and seen is not None
    assert_gateway_view(seen)


def test_forwarding_lies_on_a_websocket_upgrade(live: LiveGateway) -> None:
    lies = [(spelling, "6.6.6.6") for name in FORWARDING for spelling in spellings(name)]
    response, seen = live.upgrade("/ws", [session(live), *lies])
    assert response.status == 101 and seen is not None
    assert_gateway_view(seen)


@pytest.fixture(scope="module")
def behind_proxy(_live_loop: LiveLoop) -> LiveGateway:
    """The gateway with the test client as its trusted proxy."""
    return _live_loop.gateway("nextauth-v4", "", trusted="127.0.0.1/32")


@pytest.mark.parametrize(
    ("xff", "forwarded"),
    [
        ("203.0.113.7", "203.0.113.7, 127.0.0.1"),
        ("6.6.6.6, 203.0.113.7", "203.0.113.7, 127.0.0.1"),  # left of the client: the client's lie
        ("unknown, 203.0.113.7", "203.0.113.7, 127.0.0.1"),
    ],
)
def test_trusted_proxy_chain_is_verified_not_copied(
    behind_proxy: LiveGateway, xff: str, forwarded: str
) -> None:
    response, seen = behind_proxy.send(
        "/reports", [session(behind_proxy), ("X-Forwarded-For", xff)]
    )
    assert response.status == 200 and seen is not None
    assert seen.headers.getall("X-Forwarded-For") == [forwarded]
    assert seen.headers.getall("X-Real-IP") == ["203.0.113.7"]


# --- property: any spelling of any identity header --------------------------------------

_SEPARATORS = st.sampled_from(["-", "_", ".", "", "--", "~", "+"])


@st.composite
def _spelling(draw: st.DrawFn) -> str:
    words = ["x", "auth", "request", draw(st.sampled_from(["user", "email", "role"]))]
    cased = ["".join(c.upper() if draw(st.booleans()) else c for c in w) for w in words]
    seps = [draw(_SEPARATORS) for _ in range(3)]
    return cased[0] + "".join(s + w for s, w in zip(seps, cased[1:], strict=True))


_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    spoofs=st.lists(st.tuples(_spelling(), _VALUE), min_size=1, max_size=6),
    signed_in=st.booleans(),
    target=st.sampled_from(["/reports", "/login", "/api/auth/x"]),
)
def test_any_spelling_of_an_identity_header_is_removed(
    live: LiveGateway, spoofs: list[tuple[str, str]], signed_in: bool, target: str
) -> None:
    headers = [session(live)] if signed_in else [("Accept", "application/json")]
    response, seen = live.send(target, [*headers, *spoofs])
    if not signed_in and target == "/reports":
        assert (response.status, seen) == (401, None)
        return
    assert response.status == 200 and seen is not None
    assert identity_seen(seen.headers) == (OURS if signed_in else NOBODY)
