"""Hop-by-hop and framing tricks around the session check (issue 4, classes 2 and 3).

A request the gateway checked must reach the upstream as the same single request: no
protocol switch the gateway did not vet (h2c, a WebSocket on a non-GET), no second request
hidden in the body by disagreeing framing headers, and no unauthenticated CORS preflight that
the app could read as something else.
"""

from __future__ import annotations

import pytest

from tests.support import T0
from tests.support.live import LiveGateway

BOB = {"sub": "user-bob", "role": "general"}
API = ("Accept", "application/json")


def test_h2c_upgrade_is_never_passed_on(live: LiveGateway) -> None:
    response, seen = live.send(
        "/login",
        [
            ("Connection", "Upgrade, HTTP2-Settings"),
            ("Upgrade", "h2c"),
            ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
        ],
    )
    assert response.status == 200 and seen is not None
    for name in ("Upgrade", "HTTP2-Settings"):
        assert name not in seen.headers
    assert "upgrade" not in seen.headers.get("Connection", "").lower()


@pytest.mark.parametrize("method", ["POST", "PUT", "OPTIONS"])
def test_websocket_upgrade_on_another_method_is_a_plain_request(
    live: LiveGateway, method: str
) -> None:
    response, seen = live.send(
        "/login",
        [
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        method=method,
    )
    assert response.status == 200 and seen is not None
    assert "Upgrade" not in seen.headers


@pytest.mark.parametrize(
    "framing",
    [
        [("Content-Length", "4"), ("Transfer-Encoding", "chunked")],
        [("Transfer-Encoding", "chunked"), ("Content-Length", "4")],
        [("Content-Length", "4"), ("Content-Length", "40")],
        [("Transfer-Encoding", "chunked, identity")],
        [("Transfer-Encoding", "xchunked")],
        [("Content-Length", "+4")],
        [("Content-Length", "4, 4")],
    ],
    ids=["cl-te", "te-cl", "two-lengths", "te-list", "te-unknown", "cl-sign", "cl-list"],
)
def test_ambiguous_framing_is_refused(live: LiveGateway, framing: list[tuple[str, str]]) -> None:
    smuggled = b"0\r\n\r\nGET /admin/users HTTP/1.1\r\nHost: gw.test\r\n\r\n"
    response, seen = live.send(
        "/login", [API, *framing], method="POST", body=smuggled, framed=False
    )
    assert response.status == 400 and seen is None
    assert not [r for r in live.recorder.requests if r.path.startswith("/admin")]


def test_preflight_passes_without_identity_or_method_override(live: LiveGateway) -> None:
    """``preflight: pass`` lets CORS preflights through unauthenticated, as designed; they
    carry no identity and no header that could turn them into another method."""
    token = live.token(BOB, iat=T0 - 60)
    response, seen = live.send(
        "/admin/users",
        [
            ("Origin", "https://other.example"),
            ("Access-Control-Request-Method", "DELETE"),
            ("X-HTTP-Method-Override", "DELETE"),
            ("X_HTTP_Method", "DELETE"),
            ("X-Method-Override", "DELETE"),
            ("X-Auth-Request-User", "mallory"),
            ("Cookie", f"{live.cookie}={token}"),
        ],
        method="OPTIONS",
    )
    assert response.status == 200 and seen is not None
    lowered = {name.lower().replace("_", "-") for name in seen.headers}
    assert not lowered & {
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "x-auth-request-user",
        "x-auth-request-role",
    }


def test_a_preflight_lookalike_without_origin_is_checked(live: LiveGateway) -> None:
    response, seen = live.send(
        "/admin/users", [API, ("Access-Control-Request-Method", "GET")], method="OPTIONS"
    )
    assert response.status == 401 and seen is None
