"""Single config values: text in, typed value out, ValueError with a reason otherwise."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.config import Address, Upstream
from gateway.config import values as validate

ACCEPTED: list[object] = [
    pytest.param(validate.address, "127.0.0.1:8080", Address("127.0.0.1", 8080), id="addr-v4"),
    pytest.param(validate.address, "[::1]:9091", Address("::1", 9091), id="addr-v6"),
    pytest.param(validate.address, "LocalHost:1", Address("localhost", 1), id="addr-name"),
    pytest.param(validate.address, "0.0.0.0:65535", Address("0.0.0.0", 65535), id="addr-max"),
    pytest.param(
        validate.upstream,
        "http://127.0.0.1:3000",
        Upstream("http", "127.0.0.1", 3000),
        id="up-port",
    ),
    pytest.param(
        validate.upstream,
        "HTTPS://App.Example.com/",
        Upstream("https", "app.example.com", 443),
        id="up-default-443-slash",
    ),
    pytest.param(validate.upstream, "http://[::1]", Upstream("http", "::1", 80), id="up-v6"),
    pytest.param(
        validate.upstream,
        "http://my_app:3000",
        Upstream("http", "my_app", 3000),
        id="up-compose-service-name",
    ),
    pytest.param(
        validate.public_url,
        "https://app.example.com/",
        "https://app.example.com",
        id="public-trailing-slash",
    ),
    pytest.param(
        validate.public_url,
        "https://app.example.com:443",
        "https://app.example.com",
        id="public-default-port-dropped",
    ),
    pytest.param(validate.public_url, "http://[::1]:8080", "http://[::1]:8080", id="public-v6"),
    pytest.param(validate.login_url, "/login?x=1", "/login?x=1", id="login-path"),
    pytest.param(
        validate.login_url,
        "https://auth.example.com/login",
        "https://auth.example.com/login",
        id="login-absolute",
    ),
    pytest.param(
        validate.cookie_name,
        "next-auth.session-token",
        "next-auth.session-token",
        id="cookie-nextauth",
    ),
    pytest.param(validate.cookie_name, "app.session.v2", "app.session.v2", id="cookie-dotted"),
    pytest.param(validate.cookie_domain, ".example.com", ".example.com", id="domain-dot"),
    pytest.param(validate.claim_path, "app_metadata.roles", "app_metadata.roles", id="claim"),
    pytest.param(validate.header_name, "X-Auth-Request-User", "X-Auth-Request-User", id="header"),
    pytest.param(validate.path_prefix, "/api/auth/", "/api/auth/", id="path"),
    pytest.param(validate.gateway_prefix, "/_gateway", "/_gateway", id="gateway-prefix"),
    pytest.param(validate.route_name, "api.v1_x-y", "api.v1_x-y", id="route-name"),
    pytest.param(validate.policy_name, "Super Admin", "Super Admin", id="policy-name-spaces"),
]


@pytest.mark.parametrize(("check", "text", "value"), ACCEPTED)
def test_accepts(check: Callable[[str], object], text: str, value: object) -> None:
    assert check(text) == value


REFUSED: list[object] = [
    pytest.param(validate.address, ":8080", "is not host:port", id="addr-no-host"),
    pytest.param(validate.address, "*:8080", "is not a valid host name", id="addr-star"),
    pytest.param(validate.address, "1.2.3.4:http", "invalid port", id="addr-port-name"),
    pytest.param(validate.address, "1.2.3.4:65536", "invalid port", id="addr-port-high"),
    pytest.param(validate.address, "300.1.1.1:80", "not a valid IPv4", id="addr-bad-v4"),
    pytest.param(validate.address, "[zz]:80", "invalid IPv6", id="addr-bad-v6"),
    pytest.param(validate.upstream, "http://h/path", "without a path", id="up-path"),
    pytest.param(validate.upstream, "http://h?x=1", "without a path or query", id="up-query"),
    pytest.param(validate.upstream, "http://h#x", "without a path", id="up-fragment"),
    pytest.param(validate.upstream, "http://u@h", "credentials", id="up-userinfo"),
    pytest.param(validate.upstream, "http://h:0", "invalid port", id="up-port-zero"),
    pytest.param(validate.upstream, "http://[::1", "not a valid URL", id="up-broken-v6"),
    pytest.param(validate.upstream, "unix:/tmp/s", "not an http", id="up-scheme"),
    pytest.param(validate.upstream, "http://h x", "whitespace", id="up-space"),
    pytest.param(validate.public_url, "app.example.com", "not an http", id="public-no-scheme"),
    pytest.param(validate.login_url, "//evil.com", "must be a path", id="login-scheme-relative"),
    pytest.param(validate.login_url, "/\\evil.com", "must be a path", id="login-backslash"),
    pytest.param(validate.login_url, "login", "starting with /", id="login-relative"),
    pytest.param(validate.login_url, "javascript:alert(1)", "starting with /", id="login-js"),
    pytest.param(
        validate.cookie_name, "__Host-session", "without __Secure-/__Host-", id="cookie-host-prefix"
    ),
    pytest.param(
        validate.cookie_name,
        "__secure-session",
        "without __Secure-/__Host-",
        id="cookie-secure-prefix-any-case",
    ),
    pytest.param(validate.cookie_name, "session.12", "chunk suffix", id="cookie-chunk"),
    pytest.param(validate.cookie_name, "a=b", "not a valid cookie name", id="cookie-equals"),
    pytest.param(validate.cookie_domain, "exa mple.com", "not a valid host", id="domain-space"),
    pytest.param(validate.claim_path, ".role", "not a claim path", id="claim-leading-dot"),
    pytest.param(validate.claim_path, "", "not a claim path", id="claim-empty"),
    pytest.param(validate.header_name, "X:Y", "not a valid HTTP header", id="header-colon"),
    pytest.param(validate.header_name, "x_forwarded_for", "manages", id="header-managed-folded"),
    pytest.param(validate.path_prefix, "/a b", "plain decoded path", id="path-space"),
    pytest.param(validate.path_prefix, "/caf%C3%A9", "plain decoded path", id="path-encoded"),
    pytest.param(validate.path_prefix, "/a//b", "normalised", id="path-double-slash"),
    pytest.param(validate.gateway_prefix, "/", "must not end with /", id="gateway-root"),
    pytest.param(validate.route_name, "_gateway", "not a route name", id="route-underscore"),
    pytest.param(validate.route_name, "a b", "not a route name", id="route-space"),
    pytest.param(validate.policy_name, " admin", "not a policy name", id="policy-padded"),
    pytest.param(validate.network, "10.0.0.0/33", "not an IP address", id="cidr-bad"),
]


@pytest.mark.parametrize(("check", "text", "reason"), REFUSED)
def test_refuses(check: Callable[[str], object], text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check(text)


@pytest.mark.parametrize(
    ("prefix", "path", "matches"),
    [
        pytest.param("", "/anything", True, id="root-matches-all"),
        pytest.param("/admin", "/admin", True, id="exact"),
        pytest.param("/admin", "/admin/x", True, id="below"),
        pytest.param("/admin", "/administrator", False, id="not-a-segment-boundary"),
        pytest.param("/admin", "/", False, id="above"),
    ],
)
def test_covers_on_segment_boundaries(prefix: str, path: str, matches: bool) -> None:
    assert validate.covers(prefix, path) is matches


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("app", False),
        ("::", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert validate.is_loopback(host) is loopback


def test_fold_header_matches_what_backends_fold() -> None:
    assert validate.fold_header("X_Auth_Request_User") == validate.fold_header(
        "x-auth-request-user"
    )
