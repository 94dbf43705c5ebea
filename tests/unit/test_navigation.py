"""is_navigation: who gets a login redirect and who gets a 401."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from gateway.identity import is_navigation as reexported
from gateway.navigation import is_navigation

CHROME_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


def headers(*pairs: tuple[str, str]) -> CIMultiDictProxy[str]:
    return CIMultiDictProxy(CIMultiDict(pairs))


@pytest.mark.parametrize(
    ("method", "pairs", "expected"),
    [
        ("GET", [("Accept", CHROME_ACCEPT), ("Sec-Fetch-Mode", "navigate")], True),
        ("GET", [("Accept", CHROME_ACCEPT)], True),
        ("HEAD", [("Accept", "text/html")], True),
        ("GET", [("Sec-Fetch-Mode", "navigate")], True),
        ("GET", [("sec-fetch-mode", "Navigate")], True),
        ("GET", [("Sec-Fetch-Mode", "nested-navigate")], True),
        ("GET", [("Accept", "TEXT/HTML")], True),
        ("GET", [("Accept", "text/html;q=0.001")], True),
        ("GET", [("Accept", "text/html ; q=1.0")], True),
        ("GET", [("Accept", "text/html; level=1; q=0.5")], True),
        ("GET", [("Accept", "application/json"), ("Accept", "text/html")], True),
        ("POST", [("Accept", CHROME_ACCEPT), ("Sec-Fetch-Mode", "navigate")], False),
        ("get", [("Accept", "text/html")], False),
        ("OPTIONS", [("Accept", "text/html")], False),
        ("GET", [("Accept", "text/html"), ("X-Requested-With", "XMLHttpRequest")], False),
        ("GET", [("Sec-Fetch-Mode", "navigate"), ("x-requested-with", "")], False),
        ("GET", [("Accept", "*/*")], False),
        ("GET", [("Accept", "text/*")], False),
        ("GET", [], False),
        ("GET", [("Accept", "application/json")], False),
        ("GET", [("Accept", "text/html;q=0")], False),
        ("GET", [("Accept", "text/html;q=0.000")], False),
        ("GET", [("Accept", "text/html;Q=0")], False),
        ("GET", [("Accept", "text/html;q=abc")], False),
        ("GET", [("Accept", "text/html;q=2")], False),
        ("GET", [("Accept", "text/html;q=-1")], False),
        ("GET", [("Accept", "text/htmlx")], False),
        ("GET", [("Accept", "application/text/html")], False),
        ("GET", [("Accept", "text/html"), ("Sec-Fetch-Mode", "cors")], False),
        ("GET", [("Accept", "text/html"), ("Sec-Fetch-Mode", "no-cors")], False),
        ("GET", [("Accept", "text/html"), ("Sec-Fetch-Mode", "same-origin")], False),
        ("GET", [("Accept", "text/html"), ("Sec-Fetch-Mode", "websocket")], False),
    ],
    ids=[
        "chrome-navigation",
        "old-browser-accept-only",
        "head",
        "fetch-mode-only",
        "fetch-mode-case",
        "old-chrome-iframe",
        "media-type-case",
        "small-q",
        "q-one-spaces",
        "params-before-q",
        "second-accept-line",
        "post",
        "lower-case-method",
        "options",
        "xhr",
        "xhr-empty-value-still-counts",
        "star-star-alone",
        "text-star",
        "no-headers",
        "json",
        "q-zero",
        "q-zero-decimals",
        "q-name-case",
        "q-garbage",
        "q-over-one",
        "q-negative",
        "longer-subtype",
        "not-a-media-type",
        "fetch-cors-with-html",
        "fetch-no-cors",
        "fetch-same-origin",
        "websocket",
    ],
)
def test_is_navigation(method: str, pairs: list[tuple[str, str]], expected: bool) -> None:
    assert is_navigation(method, headers(*pairs)) is expected


def test_plain_mapping_works_too() -> None:
    assert is_navigation("GET", {"Accept": "text/html"}) is True


def test_reexported_from_identity() -> None:
    assert reexported is is_navigation
