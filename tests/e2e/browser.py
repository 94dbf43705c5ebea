"""What the end-to-end test does with the browser: sign in through the app's own login page,
read session cookies off the network, poll with a deadline, take numbered screenshots."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import BrowserContext, Page, Response

from tests.e2e.stack import COOKIE, Stack

T = TypeVar("T")
POLL_EVERY = 0.25  # seconds between two looks at a condition


def wait_until(look: Callable[[], T | None], *, within: float, what: str) -> T:
    """Poll ``look`` until it returns something, or fail once ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        found = look()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        time.sleep(POLL_EVERY)


class Screens:
    """Numbered full-page screenshots, in the order the steps ran; ``prefix`` keeps the
    screenshots of one test together (and apart from another test's)."""

    def __init__(self, folder: Path, prefix: str = "") -> None:
        self.folder = folder
        self.prefix = prefix + "-" if prefix else ""
        self.taken: list[Path] = []

    def take(self, page: Page, name: str) -> Path:
        path = self.folder / f"{self.prefix}{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def session_set_cookies(response: Response) -> list[str]:
    """The session cookie's ``Set-Cookie`` values on one response, read off the network."""
    return [
        h["value"]
        for h in response.headers_array()
        if h["name"].lower() == "set-cookie" and h["value"].startswith(COOKIE + "=")
    ]


def cookie_value(set_cookie: str) -> str:
    return set_cookie.partition(";")[0].partition("=")[2]


def is_deletion(set_cookie: str) -> bool:
    attributes = [a.strip().lower() for a in set_cookie.split(";")[1:]]
    return cookie_value(set_cookie) == "" and "max-age=0" in attributes


def jar_session(context: BrowserContext) -> dict[str, Any] | None:
    """The session cookie the browser holds now, if any."""
    held = [dict(c) for c in context.cookies() if c["name"] == COOKIE]
    return held[0] if held else None


def put_back(context: BrowserContext, stack: Stack, cookie: dict[str, Any]) -> None:
    """Give the browser an old session cookie again (a second tab that still sends it, a
    replayed copy): for an hour, whatever its own Expires said, so only the gateway's verdict
    can refuse it."""
    context.add_cookies(
        [
            {
                "name": COOKIE,
                "value": cookie["value"],
                "url": stack.url("/"),
                "httpOnly": True,
                "sameSite": "Lax",
                "expires": time.time() + 3600,
            }
        ]
    )


def sign_in(page: Page, user: str, landing: str) -> tuple[Response, Response]:
    """Fill the app's login page (already open) and submit it through next-auth's signIn().

    Returns the credentials callback response (the app's Set-Cookie) and the response of
    the navigation that follows it, to ``landing``.
    """
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", user)  # the demo users' password is their name
    with (
        page.expect_response(_is_callback) as callback,
        page.expect_response(
            lambda r: r.request.is_navigation_request() and r.url == landing
        ) as arrived,
    ):
        page.click("button[type=submit]")
    page.wait_for_url(landing)
    page.wait_for_load_state()
    return callback.value, arrived.value


def _is_callback(response: Response) -> bool:
    return response.url.split("?")[0].endswith("/api/auth/callback/credentials")


def single_redirect(landed: Response | None) -> tuple[Response, Response]:
    """``landed`` and the one redirect that led to it; fails on none or more than one."""
    assert landed is not None
    previous = landed.request.redirected_from
    assert previous is not None and previous.redirected_from is None
    hop = previous.response()
    assert hop is not None
    return landed, hop


def callback_of(location: str) -> str:
    """The ``callbackUrl`` of a login page address (exactly one)."""
    values = parse_qs(urlsplit(location).query).get("callbackUrl", [])
    assert len(values) == 1, location
    return values[0]


def path_of(url: str) -> str:
    return urlsplit(url).path


def fetch(page: Page, path: str) -> dict[str, Any]:
    """``fetch(path)`` from the page, as the app's own scripts would call its API."""
    result: dict[str, Any] = page.evaluate(
        """async (path) => {
            const r = await fetch(path, {headers: {Accept: "application/json"}});
            return {status: r.status, type: r.headers.get("content-type"),
                    challenge: r.headers.get("www-authenticate"), body: await r.text()};
        }""",
        path,
    )
    result["json"] = json.loads(result["body"])
    return result


def show(page: Page, title: str, value: object) -> None:
    """Write a result into the page, so the screenshot of the step shows it."""
    page.evaluate(
        """([title, text]) => {
            const box = document.createElement("section");
            box.style = "border: 2px solid #36c; padding: .5rem 1rem; margin-top: 1rem";
            const head = document.createElement("h3"); head.textContent = title;
            const pre = document.createElement("pre"); pre.textContent = text;
            box.append(head, pre); document.body.append(box);
        }""",
        [title, json.dumps(value, indent=2)],
    )
