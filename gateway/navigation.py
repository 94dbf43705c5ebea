"""Is this request a browser navigation (answered with a login redirect) or not (a 401)?
And is it a CORS preflight (:func:`is_preflight`)?

A navigation is a GET or HEAD without ``X-Requested-With`` that a browser makes to show a
page. ``Sec-Fetch-Mode`` says so exactly and every current browser sends it, so when it is
present it decides: ``navigate`` is a navigation, ``cors``/``no-cors``/``same-origin``/
``websocket`` are not, even with ``Accept: text/html`` (htmx and friends fetch HTML from
script and must get a 401 they can handle, not the login page's HTML). Without it, the
request is a navigation when ``Accept`` lists ``text/html`` with a non-zero q; ``*/*`` alone
or ``text/*`` is not, and an unparsable q counts as zero.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from multidict import MultiMapping

_NAVIGATION_METHODS = frozenset({"GET", "HEAD"})
# "nested-navigate" is what Chrome 76-79 sent for iframes.
_NAVIGATE_MODES = frozenset({"navigate", "nested-navigate"})
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def is_navigation(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a failed session check here should redirect to the login page."""
    if method not in _NAVIGATION_METHODS or "X-Requested-With" in headers:
        return False
    mode = headers.get("Sec-Fetch-Mode")
    if mode is not None:
        return mode.strip().lower() in _NAVIGATE_MODES
    return any(_accepts_html(line) for line in _lines(headers, "Accept"))


def _lines(headers: Mapping[str, str], name: str) -> list[str]:
    if isinstance(headers, MultiMapping):
        return list(headers.getall(name, []))
    return [headers[name]] if name in headers else []


def _accepts_html(accept: str) -> bool:
    for media_range in accept.split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        if media_type.lower() == "text/html" and _quality(params) > 0:
            return True
    return False


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            return float(value) if _QVALUE.fullmatch(value) else 0.0
    return 1.0


def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
    """A CORS preflight: ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``.
    It carries no cookies by design; with ``preflight: pass`` the real request is checked."""
    return (
        method == "OPTIONS" and "Origin" in headers and "Access-Control-Request-Method" in headers
    )
