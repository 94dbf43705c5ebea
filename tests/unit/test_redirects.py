"""callback_target / login_location: the return address never leaves the gateway's origin.

Every produced reference is resolved with ada (the WHATWG URL parser Node.js uses), not
urllib, which is no browser: it keeps tabs, reads ``\\`` as a path character and so on.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from ada_url import URL
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import LoginSettings
from gateway.redirects import MAX_CALLBACK_LENGTH, callback_target, login_location

ORIGIN = "https://gw.example"
PUBLIC_URL = "https://app.example.com"
CORPUS = Path(__file__).parent.parent / "data" / "open_redirects.txt"


def _payloads() -> list[str]:
    lines = CORPUS.read_text(encoding="ascii").splitlines()
    return [
        line.encode("ascii").decode("unicode_escape")
        for line in lines
        if line and not line.startswith("#")
    ]


PAYLOADS = _payloads()


def _variants(payload: str) -> list[str]:
    """The payload as it stands, after a leading '/', and percent-encoded (keeping '/')."""
    return [payload, "/" + payload, quote(payload, safe="/"), "/" + quote(payload, safe="")]


def assert_same_origin(ref: str, origin: str = ORIGIN) -> None:
    """``ref`` and every further percent-decoding of it stays on ``origin`` with a path that
    cannot itself be read as protocol-relative."""
    for _ in range(5):
        url = URL(ref, origin)
        assert url.origin == origin, f"{ref!r} resolves to {url.href!r}"
        assert not url.pathname.startswith("//"), f"{ref!r} resolves to path {url.pathname!r}"
        if unquote(ref) == ref:
            return
        ref = unquote(ref)


def _callback_in(location: str, param: str = "callbackUrl") -> str:
    values = parse_qs(urlsplit(location).query, keep_blank_values=True)[param]
    assert len(values) == 1
    return values[0]


def test_corpus_is_big_enough() -> None:
    assert len(PAYLOADS) >= 60


@pytest.mark.parametrize("payload", PAYLOADS, ids=[ascii(p)[1:-1][:40] for p in PAYLOADS])
def test_corpus_callback_stays_on_origin(payload: str) -> None:
    for variant in _variants(payload):
        callback = callback_target(variant)
        assert_same_origin(callback)
        assert callback.isascii() and callback.isprintable() and " " not in callback


@pytest.mark.parametrize("payload", PAYLOADS, ids=[ascii(p)[1:-1][:40] for p in PAYLOADS])
def test_corpus_login_location_stays_on_origin(payload: str) -> None:
    for variant in _variants(payload):
        relative = login_location(LoginSettings(), callback=variant, public_url=None)
        assert URL(relative, ORIGIN).href.startswith(f"{ORIGIN}/login?callbackUrl=")
        assert_same_origin(_callback_in(relative))
        absolute = login_location(LoginSettings(), callback=variant, public_url=PUBLIC_URL)
        back = _callback_in(absolute)
        assert back.startswith(PUBLIC_URL + "/")
        assert_same_origin(back, PUBLIC_URL)


@pytest.mark.parametrize(
    "payload",
    [
        "//evil.com",
        "/\\evil.com",
        "/%09/evil.com",
        "/%2f%2fevil.com",
        "/%5cevil.com",
        "/\t/evil.com",
        "/%252f%252fevil.com",
        "/..//evil.com",
        "/%2e%2e//evil.com",
        "https:evil.com",
        "javascript:alert(1)",
        "",
    ],
    ids=lambda p: ascii(p)[1:-1] or "empty",
)
def test_known_attacks_fall_back_to_root(payload: str) -> None:
    assert callback_target(payload) == "/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/dashboard", "/dashboard"),
        ("/a/b?x=1&y=2", "/a/b?x=1&y=2"),
        ("/search?q=%2F%2Fevil.com", "/search?q=%2F%2Fevil.com"),  # data in the query is fine
        ("/a%20b", "/a%20b"),
        ("/caf\u00e9", "/caf%C3%A9"),
        ("/a b?c d", "/a%20b?c%20d"),
        ("/a\\b?c\\d", "/a/b?c%5Cd"),  # as the browser reads the path; the query keeps it
        ("/x?\t\n", "/x?"),
        ("/a#frag", "/a%23frag"),
        ("/100%", "/100%25"),
        ("/%zz", "/%25zz"),
        ("/@evil.com", "/@evil.com"),
        ("/?next=//evil.com", "/?next=//evil.com"),
        ('/a"<>`{}|^', "/a%22%3C%3E%60%7B%7D%7C%5E"),
        ("/public/../admin", "/public/../admin"),
        ("/a\ud800", "/a%ED%A0%80"),  # a lone surrogate never raises
    ],
    ids=[
        "plain",
        "query-kept",
        "encoded-slashes-in-query",
        "escape-kept",
        "non-ascii-encoded",
        "spaces-encoded",
        "backslash-path-vs-query",
        "tab-newline-removed",
        "hash-encoded",
        "stray-percent",
        "bad-escape",
        "at-sign-in-path",
        "slashes-in-query",
        "unsafe-ascii-encoded",
        "dot-segments-on-origin",
        "lone-surrogate",
    ],
)
def test_callback_keeps_the_users_path(raw: str, expected: str) -> None:
    assert callback_target(raw) == expected


def test_overlong_callback_is_root() -> None:
    assert callback_target("/" + "a" * MAX_CALLBACK_LENGTH) == "/"
    assert callback_target("/" + "a" * (MAX_CALLBACK_LENGTH - 1)) == "/" + "a" * (
        MAX_CALLBACK_LENGTH - 1
    )


@pytest.mark.parametrize(
    ("login", "public_url", "expected"),
    [
        (LoginSettings(), None, "/login?callbackUrl=%2Fa%3Fb%3D1%26c%3D2"),
        (
            LoginSettings(),
            "https://app.example.com",
            "/login?callbackUrl=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3D1%26c%3D2",
        ),
        (
            LoginSettings(),
            "https://app.example.com/",
            "/login?callbackUrl=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3D1%26c%3D2",
        ),
        (
            LoginSettings(url="/auth/signin?theme=dark"),
            None,
            "/auth/signin?theme=dark&callbackUrl=%2Fa%3Fb%3D1%26c%3D2",
        ),
        (LoginSettings(url="/signin?"), None, "/signin?callbackUrl=%2Fa%3Fb%3D1%26c%3D2"),
        (
            LoginSettings(url="/signin?callbackUrl=https://evil.com&x=1"),
            None,
            "/signin?x=1&callbackUrl=%2Fa%3Fb%3D1%26c%3D2",
        ),
        (
            LoginSettings(url="https://auth.example.com/login#top", callback_param="next"),
            "https://app.example.com",
            "https://auth.example.com/login?next=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3D1%26c%3D2#top",
        ),
        (
            LoginSettings(callback_param="return to"),
            None,
            "/login?return%20to=%2Fa%3Fb%3D1%26c%3D2",
        ),
    ],
    ids=[
        "relative",
        "absolute-from-public-url",
        "public-url-trailing-slash",
        "existing-query",
        "empty-query",
        "existing-callback-replaced",
        "absolute-login-fragment-custom-param",
        "param-name-encoded",
    ],
)
def test_login_location(login: LoginSettings, public_url: str | None, expected: str) -> None:
    assert login_location(login, callback="/a?b=1&c=2", public_url=public_url) == expected


def test_login_location_resanitises_an_unsafe_callback() -> None:
    location = login_location(LoginSettings(), callback="//evil.com", public_url=PUBLIC_URL)
    assert _callback_in(location) == PUBLIC_URL + "/"


def test_login_location_round_trips_the_callback() -> None:
    callback = callback_target("/orders/42?tab=items&q=%2Fx+y")
    location = login_location(LoginSettings(), callback=callback, public_url=None)
    assert _callback_in(location) == callback


# Characters that matter to URL parsers, mixed with anything at all.
_TRICKY = ["%2f", "%5c", "%09", "%2e", "%25", "\uff0f", "\u2215", "//", "\\\\"]
_URL_ALPHABET = st.sampled_from([*"/\\%?#@:.;\t\n\r\x0b\x00 aZ09-_~+&=", *_TRICKY])
_URLISH = st.lists(_URL_ALPHABET | st.characters(), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_URLISH | st.text(max_size=60))
def test_any_text_gives_a_same_origin_callback(text: str) -> None:
    callback = callback_target(text)
    assert_same_origin(callback)
    assert callback_target(callback) == callback  # idempotent: safe values pass unchanged


@settings(max_examples=300, deadline=None)
@given(_URLISH)
def test_any_text_gives_a_same_origin_login_location(text: str) -> None:
    location = login_location(LoginSettings(), callback=text, public_url=PUBLIC_URL)
    assert_same_origin(_callback_in(location), PUBLIC_URL)
    relative = login_location(LoginSettings(), callback=text, public_url=None)
    assert URL(relative, ORIGIN).origin == ORIGIN
    assert_same_origin(_callback_in(relative))
