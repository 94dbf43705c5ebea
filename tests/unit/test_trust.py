"""client_view / forwarded_headers: only trusted proxies speak for the client."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.config import IPNetwork
from gateway.trust import (
    FORWARDING_HEADERS,
    MAX_HOPS,
    UNKNOWN,
    ClientView,
    client_view,
    forwarded_headers,
    parse_ip,
)

PROXY = "127.0.0.1"
TRUSTED: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.1/32"),
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("fd00::/8"),
)
SPOOF = [
    ("X-Forwarded-For", "6.6.6.6"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Real-IP", "6.6.6.6"),
    ("X-Request-Id", "spoofed"),
    ("Forwarded", "for=6.6.6.6;proto=https;host=evil.example"),
]


def headers(*pairs: tuple[str, str], host: str | None = "app.example.com") -> CIMultiDictProxy[str]:
    items = [("Host", host)] if host is not None else []
    return CIMultiDictProxy(CIMultiDict([*items, *pairs]))


def view(peer: str | None, *pairs: tuple[str, str], scheme: str = "http", **kw: Any) -> ClientView:
    return client_view(peer, headers(*pairs, **kw), trusted=TRUSTED, scheme=scheme)


@pytest.mark.parametrize(
    ("peer", "pairs", "client", "chain"),
    [
        ("203.0.113.1", SPOOF, "203.0.113.1", ("203.0.113.1",)),
        (PROXY, [("X-Forwarded-For", "203.0.113.9")], "203.0.113.9", ("203.0.113.9", PROXY)),
        (
            PROXY,
            [("X-Forwarded-For", "6.6.6.6, 203.0.113.9")],
            "203.0.113.9",
            ("203.0.113.9", PROXY),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.5")],
            "203.0.113.9",
            ("203.0.113.9", "10.0.0.5", PROXY),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "10.0.0.7, 10.0.0.5")],
            "10.0.0.7",
            ("10.0.0.7", "10.0.0.5", PROXY),
        ),
        (PROXY, [], PROXY, (PROXY,)),
        (PROXY, [("X-Forwarded-For", "unknown")], PROXY, (PROXY,)),
        (PROXY, [("X-Forwarded-For", "203.0.113.9, <script>")], PROXY, (PROXY,)),
        (
            PROXY,
            [("X-Forwarded-For", "10.0.0.5, _hidden, 10.0.0.6")],
            "10.0.0.6",
            ("10.0.0.6", PROXY),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "garbage, 203.0.113.9")],
            "203.0.113.9",
            ("203.0.113.9", PROXY),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "203.0.113.9:4711")],
            "203.0.113.9",
            ("203.0.113.9", PROXY),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "[2001:db8::1]:443")],
            "2001:db8::1",
            ("2001:db8::1", PROXY),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "::ffff:203.0.113.9")],
            "203.0.113.9",
            ("203.0.113.9", PROXY),
        ),
        (
            PROXY,
            [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.9, 10.0.0.5")],
            "203.0.113.9",
            ("203.0.113.9", "10.0.0.5", PROXY),
        ),
        (
            "::ffff:127.0.0.1",
            [("X-Forwarded-For", "203.0.113.9")],
            "203.0.113.9",
            ("203.0.113.9", PROXY),
        ),
        ("::ffff:203.0.113.1", SPOOF, "203.0.113.1", ("203.0.113.1",)),
        (
            "fd00::1",
            [("X-Forwarded-For", "2001:db8::7")],
            "2001:db8::7",
            ("2001:db8::7", "fd00::1"),
        ),
        ("fe80::1%eth0", SPOOF, "fe80::1", ("fe80::1",)),
        (None, SPOOF, UNKNOWN, (UNKNOWN,)),
        ("not-an-ip", SPOOF, UNKNOWN, (UNKNOWN,)),
        (
            PROXY,
            [("Forwarded", 'for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"')],
            "2001:db8::1",
            ("2001:db8::1", PROXY),
        ),
        (
            PROXY,
            [("Forwarded", "for=192.0.2.60"), ("X-Forwarded-For", "203.0.113.9")],
            "203.0.113.9",
            ("203.0.113.9", PROXY),
        ),
        (
            PROXY,
            [("Forwarded", "for=unknown;proto=https")],
            PROXY,
            (PROXY,),
        ),
    ],
    ids=[
        "untrusted-peer-ignores-everything",
        "trusted-single-hop",
        "spoofed-left-entries-dropped",
        "two-trusted-hops",
        "all-trusted-leftmost",
        "trusted-without-xff",
        "unknown-entry-stops-at-proxy",
        "garbage-at-client-position",
        "obfuscated-between-trusted-hops",
        "garbage-left-of-client-ignored",
        "ipv4-with-port",
        "bracketed-ipv6-with-port",
        "mapped-entry-becomes-ipv4",
        "header-lines-combined-in-order",
        "mapped-peer-is-trusted",
        "mapped-untrusted-peer",
        "ipv6-trusted-peer",
        "zone-id-dropped",
        "no-peer",
        "garbage-peer",
        "forwarded-header-fallback",
        "xff-wins-over-forwarded",
        "forwarded-unknown",
    ],
)
def test_client_address(
    peer: str | None, pairs: list[tuple[str, str]], client: str, chain: tuple[str, ...]
) -> None:
    result = view(peer, *pairs)
    assert (result.client_ip, result.forwarded_for) == (client, chain)


def test_untrusted_peer_view() -> None:
    assert view("203.0.113.1", *SPOOF, scheme="https") == ClientView(
        client_ip="203.0.113.1",
        proto="https",
        host="app.example.com",
        request_id=None,
        trusted=False,
        forwarded_for=("203.0.113.1",),
    )


def test_trusted_network_written_as_mapped_ipv6() -> None:
    mapped = (ipaddress.ip_network("::ffff:127.0.0.0/104"),)
    result = client_view(
        PROXY, headers(("X-Forwarded-For", "203.0.113.9")), trusted=mapped, scheme="http"
    )
    assert result.trusted and result.client_ip == "203.0.113.9"


def test_walk_is_bounded() -> None:
    hops = ", ".join(f"10.0.{i // 256}.{i % 256}" for i in range(5 * MAX_HOPS))
    result = view(PROXY, ("X-Forwarded-For", hops))
    assert len(result.forwarded_for) == MAX_HOPS + 1
    assert result.client_ip == f"10.0.{(4 * MAX_HOPS) // 256}.{(4 * MAX_HOPS) % 256}"


@pytest.mark.parametrize(
    ("peer", "pairs", "scheme", "proto"),
    [
        (PROXY, [("X-Forwarded-Proto", "https")], "http", "https"),
        (PROXY, [("X-Forwarded-Proto", "HTTPS")], "http", "https"),
        (PROXY, [("X-Forwarded-Proto", "http")], "https", "http"),
        (PROXY, [("X-Forwarded-Proto", "ftp")], "https", "https"),
        (PROXY, [("X-Forwarded-Proto", "https, http")], "https", "http"),
        (PROXY, [("X-Forwarded-Proto", "http, https")], "http", "https"),
        (PROXY, [("Forwarded", "for=1.2.3.4;proto=https")], "http", "https"),
        (PROXY, [("Forwarded", "proto=https"), ("X-Forwarded-Proto", "http")], "https", "http"),
        (PROXY, [], "HTTPS", "https"),
        (PROXY, [], "ws", "http"),
        ("203.0.113.1", [("X-Forwarded-Proto", "https")], "http", "http"),
    ],
    ids=[
        "trusted-https",
        "case-folded",
        "trusted-http-downgrade",
        "invalid-falls-back",
        "rightmost-entry",
        "rightmost-entry-2",
        "forwarded-proto",
        "xfp-wins-over-forwarded",
        "own-scheme-case",
        "own-scheme-unknown",
        "untrusted-ignored",
    ],
)
def test_proto(peer: str, pairs: list[tuple[str, str]], scheme: str, proto: str) -> None:
    assert view(peer, *pairs, scheme=scheme).proto == proto


@pytest.mark.parametrize(
    ("peer", "pairs", "host_header", "expected"),
    [
        (PROXY, [("X-Forwarded-Host", "app.example.com:8443")], "internal", "app.example.com:8443"),
        (PROXY, [("X-Forwarded-Host", "[::1]:8080")], "internal", "[::1]:8080"),
        (PROXY, [("X-Forwarded-Host", "a.example, b.example")], "internal", "b.example"),
        (PROXY, [("X-Forwarded-Host", "evil.example/path")], "internal", "internal"),
        (PROXY, [("X-Forwarded-Host", "a b")], "internal", "internal"),
        (PROXY, [("X-Forwarded-Host", "x" * 300)], "internal", "internal"),
        (PROXY, [("Forwarded", 'host="app.example.com"')], "internal", "app.example.com"),
        ("203.0.113.1", [("X-Forwarded-Host", "evil.example")], "app.example", "app.example"),
        ("203.0.113.1", [], "bad host\\x", None),
        ("203.0.113.1", [], None, None),
        ("203.0.113.1", [], "-leading-dash", None),
    ],
    ids=[
        "trusted-with-port",
        "trusted-ipv6",
        "rightmost",
        "invalid-path",
        "invalid-space",
        "too-long",
        "forwarded-host-quoted",
        "untrusted-uses-host-header",
        "invalid-host-header",
        "no-host-header",
        "leading-dash",
    ],
)
def test_host(
    peer: str, pairs: list[tuple[str, str]], host_header: str | None, expected: str | None
) -> None:
    assert view(peer, *pairs, host=host_header).host == expected


@pytest.mark.parametrize(
    ("peer", "request_id", "expected"),
    [
        (PROXY, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
        (PROXY, "Root=1-5759e988-bd862e3fe1be", "Root=1-5759e988-bd862e3fe1be"),
        (PROXY, "x" * 128, "x" * 128),
        (PROXY, "x" * 129, None),
        (PROXY, "a b", None),
        (PROXY, "a\u00e9", None),
        (PROXY, "", None),
        ("203.0.113.1", "abc", None),
    ],
    ids=["uuid", "aws-trace", "at-limit", "too-long", "space", "non-ascii", "empty", "untrusted"],
)
def test_request_id(peer: str, request_id: str, expected: str | None) -> None:
    assert view(peer, ("X-Request-Id", request_id)).request_id == expected


def test_forwarded_headers_trusted() -> None:
    result = view(
        PROXY,
        ("X-Forwarded-For", "6.6.6.6, 203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
        ("X-Request-Id", "abc-123"),
    )
    assert forwarded_headers(result) == (
        ("X-Forwarded-For", "203.0.113.9, 127.0.0.1"),
        ("X-Forwarded-Proto", "https"),
        ("X-Real-IP", "203.0.113.9"),
        ("X-Forwarded-Host", "app.example.com"),
        ("X-Request-Id", "abc-123"),
    )


def test_forwarded_headers_untrusted() -> None:
    result = view("203.0.113.1", *SPOOF, host=None)
    assert forwarded_headers(result) == (
        ("X-Forwarded-For", "203.0.113.1"),
        ("X-Forwarded-Proto", "http"),
        ("X-Real-IP", "203.0.113.1"),
    )


def test_forwarded_headers_from_a_hand_built_view() -> None:
    built = ClientView("192.0.2.1", "https", None, None, False)
    assert forwarded_headers(built)[0] == ("X-Forwarded-For", "192.0.2.1")


def test_forwarding_headers_cover_the_trust_assumption() -> None:
    for name in (
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-real-ip",
        "x-request-id",
    ):
        assert name in FORWARDING_HEADERS
    assert all(name == name.lower() for name in FORWARDING_HEADERS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1 ", "192.0.2.1"),
        ('"192.0.2.1"', "192.0.2.1"),
        ("192.0.2.1:80", "192.0.2.1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("fe80::1%a b", "fe80::1"),
        ("01.2.3.4", None),
        ("192.0.2.256", None),
        ("unknown", None),
        ("", None),
        ("[2001:db8::1", None),
        ("[2001:db8::1]:x", None),
        ("192.0.2.1:", None),
        ("192.0.2.1:123456", None),
    ],
    ids=[
        "ipv4",
        "spaces",
        "quoted",
        "ipv4-port",
        "ipv6-case",
        "ipv6-brackets",
        "mapped",
        "zone-with-space",
        "leading-zero",
        "octet-range",
        "word",
        "empty",
        "unclosed-bracket",
        "bad-port-after-bracket",
        "empty-port",
        "port-too-long",
    ],
)
def test_parse_ip(text: str, expected: str | None) -> None:
    ip = parse_ip(text)
    assert (str(ip) if ip else None) == expected


_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    peer=st.none() | st.ip_addresses().map(str) | _HEADER_TEXT,
    xff=_HEADER_TEXT,
    fwd=_HEADER_TEXT,
    proto=_HEADER_TEXT,
    host=_HEADER_TEXT,
)
def test_garbage_never_raises_and_never_leaks(
    peer: str | None, xff: str, fwd: str, proto: str, host: str
) -> None:
    inbound = headers(
        ("X-Forwarded-For", xff),
        ("Forwarded", fwd),
        ("X-Forwarded-Proto", proto),
        ("X-Forwarded-Host", host),
        host=host,
    )
    for trusted in ((), TRUSTED, (ipaddress.ip_network("0.0.0.0/0"),)):
        result = client_view(peer, inbound, trusted=trusted, scheme="http")
        assert result.proto in ("http", "https")
        for name, value in forwarded_headers(result):
            assert value.isascii() and value.isprintable(), name
        for entry in result.forwarded_for:
            assert entry == UNKNOWN or parse_ip(entry) is not None
