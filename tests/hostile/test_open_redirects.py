"""Issue 4, class 1: no Location the gateway builds leads off its origin.

The corpus of tests/data/open_redirects.txt goes through a real gateway as the request
target, raw and percent-encoded (once and twice), in the path and in the query; the real 302's
``Location`` and its ``callbackUrl`` are resolved by WHATWG rules (ada) from the login page,
decoded again and again as a sloppy login page might. With and without ``public_url``. The
client also lies about ``Host`` and ``X-Forwarded-Host``: neither may show up in a Location.

The forward-auth endpoint builds Locations too, from the ``X-Original-URI`` a trusted proxy
sends; the same corpus goes through that header.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.browser import (
    GATEWAY_ORIGIN,
    assert_callback_on_origin,
    login_callback,
)
from tests.support.live import PUBLIC_URL, LiveGateway, LiveLoop
from tests.support.wire import RawResponse

CORPUS = Path(__file__).parent.parent / "data" / "open_redirects.txt"
NAV = [("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")]
LIAR = [
    ("Host", "evil.example"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "https"),
]


def _payloads() -> list[str]:
    lines = CORPUS.read_text(encoding="ascii").splitlines()
    return [
        line.encode("ascii").decode("unicode_escape")
        for line in lines
        if line and not line.startswith("#")
    ]


PAYLOADS = _payloads()
IDS = [ascii(p)[1:-1][:48] for p in PAYLOADS]


def targets(payload: str) -> dict[str, bytes]:
    """The request targets one payload becomes: a target must start with "/", and a raw CR or
    LF would end the request line, so those two are always sent encoded."""
    raw = payload if payload.startswith("/") else "/" + payload
    raw = raw.replace("\r", "%0d").replace("\n", "%0a")
    once = quote(payload, safe="")
    return {
        "raw": raw.encode("utf-8", "surrogateescape"),
        "encoded-keep-slash": ("/" + quote(payload, safe="/")).encode(),
        "encoded": ("/" + once).encode(),
        "double-encoded": ("/" + quote(once, safe="")).encode(),
        "in-query": ("/next?" + quote(payload, safe="/?:@&=+$,;\\")).encode(),
        "query-raw": ("/?" + raw.lstrip("/")).encode("utf-8", "surrogateescape"),
    }


def check_login_redirect(response: RawResponse, *, public_url: str | None) -> None:
    """A 302 whose Location is the login page and whose callback stays on the origin the
    browser is on (or public_url's); the parser's or the gateway's 400 also fine."""
    assert response.status in (302, 400), response.status
    if response.status == 400:
        assert "Location" not in response.headers
        return
    [location] = response.headers.getall("Location")
    callback = login_callback(location)
    if public_url is None:
        assert callback.startswith("/"), callback
        assert_callback_on_origin(callback, GATEWAY_ORIGIN)
    else:
        assert callback.startswith(public_url + "/"), callback
        assert_callback_on_origin(callback, public_url)
    assert "evil.example" not in location


def test_corpus_is_big_enough() -> None:
    assert len(PAYLOADS) >= 60


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_login_redirect_never_leaves_the_origin(
    live: LiveGateway, live_public: LiveGateway, payload: str
) -> None:
    for gateway, public_url in ((live, None), (live_public, PUBLIC_URL)):
        for form, target in targets(payload).items():
            response, seen = gateway.send(target, [*NAV, *LIAR])
            assert seen is None  # no session: nothing reaches the protected upstream
            check_login_redirect(response, public_url=public_url)
            if form == "in-query":  # always a servable path: the Location is always checked
                assert response.status == 302


def test_most_payloads_reach_the_login_redirect_as_paths(live: LiveGateway) -> None:
    """The corpus tests the Location, not only the 400: many path forms are served (the
    rest hold controls, double encodings or `;`, which the path parser refuses)."""
    forms = [t for p in PAYLOADS for f, t in targets(p).items() if f != "in-query"]
    statuses = [live.send(target, NAV)[0].status for target in forms]
    assert set(statuses) <= {302, 400, 404}
    assert statuses.count(302) >= len(forms) * 2 // 5, (statuses.count(302), len(forms))


@pytest.fixture(scope="module")
def forward_auth(_live_loop: LiveLoop) -> LiveGateway:
    """A gateway that trusts the test client as its proxy (nginx auth_request in front)."""
    return _live_loop.gateway("nextauth-v4", "", trusted="127.0.0.1/32")


@pytest.mark.parametrize("payload", PAYLOADS, ids=IDS)
def test_forward_auth_location_never_leaves_the_origin(
    forward_auth: LiveGateway, payload: str
) -> None:
    header_safe = payload.replace("\r", "%0d").replace("\n", "%0a").replace("\x00", "%00")
    uris = [
        header_safe if header_safe.startswith("/") else "/" + header_safe,
        "/" + quote(payload, safe=""),
    ]
    for uri in uris:
        for target in ("/_gateway/auth", "/_gateway/auth?redirect=true"):
            response, _ = forward_auth.send(target, [*NAV, *LIAR, ("X-Original-URI", uri)])
            assert response.status in (302, 401, 400), response.status
            if "Location" in response.headers:
                check_login_redirect(_as_redirect(response), public_url=None)


def _as_redirect(response: RawResponse) -> RawResponse:
    """Forward-auth's 401 carries the login Location as a hint: check it the same way."""
    return RawResponse(302, response.headers, response.body)


# Pieces that matter to URL parsers; hypothesis strings them together.
_PIECES = st.sampled_from(
    [
        "/",
        "//",
        "\\",
        "%2f",
        "%2F",
        "%5c",
        "%09",
        "%0a",
        "%2e",
        "%2e%2e",
        ".",
        "..",
        "@",
        ":",
        "%40",
        "?",
        "#",
        "%23",
        "%25",
        "%252f",
        "evil.com",
        "javascript:",
        "https:",
        "\uff0f",
        "\u2215",
        "\u3002",
        "\t",
        " ",
        "a",
    ]
)
_URLISH = st.lists(_PIECES, min_size=1, max_size=12).map("".join)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_URLISH)
def test_any_urlish_target_redirects_on_origin(
    live: LiveGateway, live_public: LiveGateway, text: str
) -> None:
    target = "/" + quote(text, safe="/%\\:@")
    for gateway, public_url in ((live, None), (live_public, PUBLIC_URL)):
        response, seen = gateway.send(target, [*NAV, *LIAR])
        assert seen is None
        check_login_redirect(response, public_url=public_url)
