"""InboundFilter: which client headers the upstream may see, in every spelling a backend folds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.identity import header_key
from gateway.inbound import MEMO_NAMES, InboundFilter
from gateway.trust import FORWARDING_HEADERS
from gateway.upstream.hopbyhop import HOP_BY_HOP

CONFIGURED = ["X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Role"]


def kept(
    pairs: list[tuple[str, str]], *, configured: list[str] = CONFIGURED, preflight: bool = False
) -> list[tuple[str, str]]:
    inbound = CIMultiDictProxy(CIMultiDict(pairs))
    return list(InboundFilter(configured).kept(inbound, preflight=preflight).items())


@pytest.mark.parametrize(
    "spelling",
    [
        "X-Auth-Request-User",
        "x-auth-request-user",
        "X-AUTH-REQUEST-USER",
        "X_Auth_Request_User",
        "x_auth_request_user",
        "X-Auth_Request-User",
        "X.Auth.Request.User",
        "XAuthRequestUser",
    ],
)
def test_identity_header_in_every_spelling_is_dropped(spelling: str) -> None:
    assert kept([("Accept", "*/*"), (spelling, "admin")]) == [("Accept", "*/*")]


def test_duplicates_are_dropped_and_the_rest_kept_in_order() -> None:
    assert kept(
        [
            ("X-Auth-Request-User", "a"),
            ("Accept", "x"),
            ("x-auth-request-user", "b"),
            ("X_AUTH_REQUEST_EMAIL", "c"),
            ("X-Auth-Request-Users", "kept: another name"),
            ("X-Auth-Request", "kept: a prefix"),
            ("Accept", "y"),
        ]
    ) == [
        ("Accept", "x"),
        ("X-Auth-Request-Users", "kept: another name"),
        ("X-Auth-Request", "kept: a prefix"),
        ("Accept", "y"),
    ]


def test_nothing_configured_keeps_identity_look_alikes() -> None:
    assert kept([("X-Auth-Request-User", "a")], configured=[]) == [("X-Auth-Request-User", "a")]


def test_forwarding_headers_in_every_spelling_are_dropped() -> None:
    assert kept(
        [
            ("Accept", "text/html"),
            ("X-Forwarded-For", "6.6.6.6"),
            ("x-forwarded-for", "7"),
            ("X_Forwarded_For", "8.8.8.8"),
            ("X-Real_IP", "6.6.6.6"),
            ("Forwarded", "for=6"),
            ("X-Original-URL", "/admin"),
            ("X-Rewrite-Url", "/admin"),
            ("True-Client-IP", "6"),
            ("X-Request-Id", "client-chosen"),
            ("X-Forwarded-For-Extra", "kept"),
        ]
    ) == [("Accept", "text/html"), ("X-Forwarded-For-Extra", "kept")]


def test_hop_by_hop_proxy_and_connection_named_headers_are_dropped() -> None:
    assert kept(
        [
            ("Connection", "keep-alive, X-Secret, Host"),
            ("Keep-Alive", "timeout=5"),
            ("TE", "trailers"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic eA=="),
            ("Proxy-Anything", "1"),
            ("x-secret", "1"),
            ("Host", "app.example.com"),
            ("X-Keep", "1"),
        ]
    ) == [("Host", "app.example.com"), ("X-Keep", "1")]  # Host is never hop-by-hop


def test_headers_the_gateway_writes_itself_are_dropped() -> None:
    assert kept(
        [
            ("Cookie", "a=1"),
            ("Content-Length", "3"),
            ("Transfer-Encoding", "chunked"),
            ("Expect", "100-continue"),
            ("Authorization", "Bearer t"),
        ]
    ) == [("Authorization", "Bearer t")]


def test_method_overrides_are_dropped_from_preflights_only() -> None:
    pairs = [
        ("X-HTTP-Method-Override", "DELETE"),
        ("x_http_method", "DELETE"),
        ("X-Method-Override", "DELETE"),
        ("Origin", "https://a.example"),
    ]
    assert kept(pairs, preflight=True) == [("Origin", "https://a.example")]
    assert kept(pairs) == pairs


def test_the_memo_is_bounded_and_verdicts_stay_right() -> None:
    inbound_filter = InboundFilter(CONFIGURED)
    for i in range(MEMO_NAMES * 3):  # a hostile stream of new names
        inbound = CIMultiDictProxy(
            CIMultiDict([(f"X-Junk-{i}", "1"), ("X_Auth_Request_Role", "admin")])
        )
        assert list(inbound_filter.kept(inbound, preflight=False)) == [f"X-Junk-{i}"]
    assert inbound_filter._dropped.cache_info().currsize <= MEMO_NAMES  # type: ignore[attr-defined]


NAMES = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"),
    min_size=1,
    max_size=24,
)


@given(st.lists(st.tuples(NAMES, st.text(max_size=8)), max_size=12))
def test_kept_is_exactly_the_rule(pairs: list[tuple[str, str]]) -> None:
    """The memoised verdicts agree with the rule written out plainly, header by header."""
    keys = {header_key(n) for n in (*CONFIGURED, *FORWARDING_HEADERS, "X-Request-Id")}
    named = {
        t.strip().lower() for n, v in pairs if n.lower() == "connection" for t in v.split(",")
    } - {"host", ""}

    def dropped(name: str) -> bool:
        lower = name.lower()
        return (
            lower in HOP_BY_HOP
            or lower.startswith("proxy-")
            or lower in named
            or lower in {"cookie", "content-length", "transfer-encoding", "expect"}
            or header_key(name) in keys
        )

    assert kept(pairs) == [(n, v) for n, v in pairs if not dropped(n)]
