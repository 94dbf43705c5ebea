"""Issue 4, class 4 (Cookie headers): no cookie layout passes that the design does not accept,
and none breaks the gateway.

tests/data/hostile_cookies.tsv holds Cookie headers that attack the chunk layout (huge and odd
indices, gaps, duplicates, bare name plus chunks, too many chunks), values that are not a JWE
or that the app's cookie parser would read differently, and look-alike names. Each goes
through a real gateway for both flavors as a browser navigation (302 to the login page), an
API call (401 with the error code) and a request to a public route (proxied without the
session cookie), checked by :func:`tests.hostile.verdicts.assert_decision`. Oversized and huge
cookie headers, and a hypothesis property over random jars, close the class; forged tokens
are in test_tokens.py.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.verdicts import API, BOB, FLAVORS, assert_decision
from tests.support import T0
from tests.support.live import LiveGateway

CORPUS = Path(__file__).parent.parent / "data" / "hostile_cookies.tsv"


# --- the corpus of Cookie headers ------------------------------------------------------------


class Row(NamedTuple):
    id: str
    template: str
    decision: str


def _rows() -> list[Row]:
    rows = []
    for line in CORPUS.read_text(encoding="ascii").splitlines():
        if line and not line.startswith("#"):
            ident, template, decision = line.split("\t")
            rows.append(Row(ident, template.encode().decode("unicode_escape"), decision))
    return rows


ROWS = _rows()


def fill(template: str, gateway: LiveGateway) -> list[str]:
    token = gateway.token(BOB, iat=T0 - 60)
    half = len(token) // 2
    text = (
        template.replace("{TOKEN}", token)
        .replace("{HEAD}", token[:half])
        .replace("{TAIL}", token[half:])
        .replace("{UB}", gateway.cookie.upper())
        .replace("{B}", gateway.cookie)
    )
    return text.split(" || ")


def test_corpus_covers_every_decision() -> None:
    assert {row.decision for row in ROWS} >= {"valid", "invalid", "unauthenticated"}
    assert len({row.id for row in ROWS}) == len(ROWS)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_cookie_header_corpus(gateways: dict[str, LiveGateway], flavor: str, row: Row) -> None:
    gateway = gateways[flavor]
    assert_decision(gateway, fill(row.template, gateway), row.decision)


# --- sizes: 100 KB, thousands of chunks -----------------------------------------------------


def test_a_100_kb_cookie_line_is_refused_by_the_parser(live: LiveGateway) -> None:
    token = live.token(BOB, iat=T0 - 60)
    line = f"{live.cookie}={token}; pad={'a' * 100_000}"
    assert_decision(live, [line], "refused")


def test_an_oversize_cookie_line_is_not_echoed(live: LiveGateway) -> None:
    token = live.token(BOB, iat=T0 - 60)
    response, _ = live.send("/reports", [("Cookie", f"{live.cookie}={token}{'A' * 40_000}")])
    assert response.status in (400, 431)
    assert token[:60].encode() not in response.body


def test_an_oversize_cookie_line_is_not_logged(
    live: LiveGateway, caplog: pytest.LogCaptureFixture
) -> None:
    token = live.token(BOB, iat=T0 - 60)
    with caplog.at_level(logging.DEBUG):
        live.send("/reports", [("Cookie", f"{live.cookie}={token}{'A' * 40_000}")])
    assert token[:40] not in caplog.text


def test_100_kb_of_session_chunks_over_several_lines(live: LiveGateway) -> None:
    chunks = [f"{live.cookie}.{i}={'A' * 25_000}" for i in range(4)]
    assert_decision(live, chunks, "invalid")


@pytest.mark.parametrize(("lines", "per_line"), [(1, 1000), (4, 1000)])
def test_thousands_of_chunks(live: LiveGateway, lines: int, per_line: int) -> None:
    numbers = iter(range(lines * per_line))
    cookie_lines = [
        "; ".join(f"{live.cookie}.{next(numbers)}=a" for _ in range(per_line)) for _ in range(lines)
    ]
    assert_decision(live, cookie_lines, "invalid")


# --- properties ------------------------------------------------------------------------------

_NAMES = st.sampled_from(
    [
        "{B}",
        "{B}.0",
        "{B}.1",
        "{B}.2",
        "{B}.7",
        "{B}.8",
        "{B}.01",
        "{B}.x",
        "__Secure-{B}",
        "__Secure-{B}.0",
        "__Secure-{B}.1",
        "{B}-x",
        "other",
    ]
)
_JUNK = st.text(st.sampled_from("ABCxyz019-_.~!=+/%\"'{}:,"), max_size=60)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(jar=st.lists(st.tuples(_NAMES, _JUNK), min_size=1, max_size=10))
def test_no_jar_of_junk_is_a_session(live: LiveGateway, jar: list[tuple[str, str]]) -> None:
    header = "; ".join(f"{name.replace('{B}', live.cookie)}={value}" for name, value in jar)
    response, seen = live.send("/reports", [API, ("Cookie", header)])
    assert response.status == 401 and seen is None
    assert response.json()["error"] in ("invalid_session", "unauthenticated")
