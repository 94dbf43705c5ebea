"""What a browser makes of the gateway's answers: where a Location leads (WHATWG rules, with
ada, the parser Node.js uses) and which cookies the jar holds after a response."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http.cookies import SimpleCookie
from urllib.parse import unquote

from ada_url import URL, URLSearchParams

# The origin the tests' requests are made to (their Host header says gw.test).
GATEWAY_ORIGIN = "http://gw.test"
# How many extra percent-decodings of the callback a sloppy login page may apply.
DECODE_ROUNDS = 4


def resolve(ref: str, base: str) -> URL:
    return URL(ref, base)


def login_callback(location: str, *, param: str = "callbackUrl", login_path: str = "/login") -> str:
    """The single callback value of a login ``Location``, checking the Location itself: same
    origin as the request, the login path, printable ASCII (no header injection)."""
    assert location.isascii() and location.isprintable(), ascii(location)
    url = resolve(location, GATEWAY_ORIGIN + "/some/page")
    assert url.origin == GATEWAY_ORIGIN, f"Location {location!r} leaves the origin"
    assert url.pathname == login_path, location
    values = URLSearchParams(url.search).get_all(param)
    assert len(values) == 1, f"{param} appears {len(values)} times in {location!r}"
    return str(values[0])


def assert_callback_on_origin(callback: str, origin: str) -> None:
    """``callback`` (and every further decoding of it) resolves, as a browser or NextAuth's
    redirect callback would resolve it from the login page, to ``origin`` with a path that
    is not itself protocol-relative."""
    login_page = origin + "/login"
    for _ in range(DECODE_ROUNDS + 1):
        url = resolve(callback, login_page)
        assert url.origin == origin, f"callback {callback!r} resolves to {url.href!r}"
        assert not url.pathname.startswith("//"), f"{callback!r} has path {url.pathname!r}"
        decoded = unquote(callback)
        if decoded == callback:
            return
        callback = decoded


def jar_after(jar: Mapping[str, str], set_cookies: Iterable[str]) -> dict[str, str]:
    """The cookies a browser holds after applying ``set_cookies`` (Path=/ cookies only: all
    the gateway and the test upstream write). ``Max-Age=0`` or an empty value deletes."""
    out = dict(jar)
    for line in set_cookies:
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(line)
        for name, morsel in parsed.items():
            if morsel["max-age"] == "0" or not morsel.value:
                out.pop(name, None)
            else:
                out[name] = morsel.value
    return out


def cookie_header(jar: Mapping[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())
