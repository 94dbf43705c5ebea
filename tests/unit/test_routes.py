"""normalise / match_route: one reading of the path, checked and forwarded alike."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal, NamedTuple

import pytest
from ada_url import URL
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import Route, Upstream
from gateway.errors import BadPath
from gateway.routes import MAX_PATH_LENGTH, RequestPath, _parse, match_route, normalise

UP = Upstream("http", "127.0.0.1", 3000)


def route(
    name: str,
    path: str,
    *,
    public: bool = False,
    roles: tuple[str, ...] | None = None,
    unauthenticated: Literal["redirect", 401] = "redirect",
) -> Route:
    """A route as the loader builds it: prefix lower-cased, without the trailing slash."""
    prefix = path.lower().rstrip("/")
    return Route(name, path, prefix, UP, public, roles, unauthenticated)


ROUTES = (
    route("nextauth", "/api/auth/", public=True),
    route("login", "/login", public=True),
    route("public", "/public/", public=True),
    route("admin", "/admin/", roles=("admin",)),
    route("api", "/api/", unauthenticated=401),
    route("app", "/"),
)
CORPUS = Path(__file__).parent.parent / "data" / "path_tricks.tsv"


class Case(NamedTuple):
    id: str
    raw: str
    match: str
    forward: str
    route: str


def _unescape(text: str) -> str:
    return text.encode("ascii").decode("unicode_escape")


def _corpus() -> list[Case]:
    cases = []
    for line in CORPUS.read_text(encoding="ascii").splitlines():
        if line and not line.startswith("#"):
            id_, raw, match, forward, name = line.split("\t")
            cases.append(Case(id_, _unescape(raw), _unescape(match), _unescape(forward), name))
    return cases


CASES = _corpus()
GOOD = [c for c in CASES if c.match != "BADPATH"]
BAD = [c for c in CASES if c.match == "BADPATH"]


def test_corpus_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
    assert len(GOOD) > 50 and len(BAD) > 40


@pytest.mark.parametrize("case", GOOD, ids=[c.id for c in GOOD])
def test_corpus_normalises(case: Case) -> None:
    path = normalise(case.raw)
    assert (path.match, path.forward) == (case.match, case.forward)


@pytest.mark.parametrize("case", GOOD, ids=[c.id for c in GOOD])
def test_corpus_matches_route(case: Case) -> None:
    found = match_route(ROUTES, normalise(case.raw))
    assert (found.name if found else "none") == case.route


@pytest.mark.parametrize("case", GOOD, ids=[c.id for c in GOOD])
def test_corpus_forward_is_served_as_checked(case: Case) -> None:
    """The upstream re-reading `forward` sees the path and the route that were checked."""
    path = normalise(case.raw)
    again = normalise(path.forward)
    assert again == path
    assert match_route(ROUTES, again) == match_route(ROUTES, path)


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_corpus_refuses(case: Case) -> None:
    with pytest.raises(BadPath) as caught:
        normalise(case.raw)
    message = str(caught.value)
    assert message.isprintable() and len(message) < 60
    assert case.raw not in message or len(case.raw) < 2


@pytest.mark.parametrize(
    ("length", "ok"),
    [(MAX_PATH_LENGTH, True), (MAX_PATH_LENGTH + 1, False)],
    ids=["at-limit", "over-limit"],
)
def test_length_limit(length: int, ok: bool) -> None:
    raw = "/" + "a" * (length - 1)
    if ok:
        assert normalise(raw).forward == raw
    else:
        with pytest.raises(BadPath):
            normalise(raw)


def test_exact_keeps_case_and_decoding() -> None:
    assert normalise("/Caf%C3%A9/X.%20/").exact == "/Caf\u00e9/X. /"


@pytest.mark.parametrize(
    ("routes", "path", "expected"),
    [
        ((route("a", "/admin/"), route("b", "/")), "/admin", "a"),
        ((route("a", "/admin"), route("b", "/")), "/admin/x/y", "a"),
        ((route("a", "/admin/"), route("b", "/")), "/administrator", "b"),
        ((route("a", "/admin/"),), "/other", "none"),
        ((route("x", "/"), route("a", "/admin/")), "/admin", "x"),
        ((route("a", "/a/b/"), route("b", "/a/")), "/a/b/c", "a"),
        ((route("a", "/a/b/"), route("b", "/a/")), "/a/bc", "b"),
        ((route("pub", "/Docs/", public=True), route("b", "/")), "/Docs/x", "pub"),
        ((route("pub", "/Docs/", public=True), route("b", "/")), "/docs/x", "b"),
        ((route("pub", "/docs/", public=True), route("b", "/")), "/DOCS/x", "b"),
        ((route("priv", "/Docs/"), route("b", "/")), "/dOcS/x", "priv"),
        ((route("pub", "/", public=True),), "/ANY/Thing", "pub"),
        ((), "/", "none"),
    ],
    ids=[
        "prefix-itself",
        "no-trailing-slash-prefix",
        "segment-boundary",
        "nothing-matches",
        "first-match-wins",
        "longer-first",
        "boundary-not-substring",
        "public-literal-case-as-written",
        "public-other-case-falls-through",
        "public-upper-request-falls-through",
        "protected-any-case",
        "public-root",
        "no-routes",
    ],
)
def test_match_route(routes: tuple[Route, ...], path: str, expected: str) -> None:
    found = match_route(routes, normalise(path))
    assert (found.name if found else "none") == expected


def test_route_with_odd_written_path_still_matches_by_prefix() -> None:
    odd = Route(name="odd", path="not a path", prefix="/odd", upstream=UP, public=True)
    assert match_route((odd,), normalise("/odd/x")) == odd
    assert match_route((odd,), normalise("/ODD/x")) is None


_PATH_ALPHABET = st.sampled_from(
    [
        *"/\\.;%?#@:+ aAzZ09-_~",
        "%2e",
        "%2E",
        "%2f",
        "%5c",
        "%00",
        "%25",
        "%c0%af",
        "%e2%80%a5",
        "%ef%bc%8f",
        "..",
        "/../",
        "/./",
        "//",
        "\u212a",
        "\uff41",
        "\u00e9",
        "%C3%A9",
        "%3b",
    ]
)
_PATHS = st.lists(_PATH_ALPHABET | st.characters(), max_size=30).map(lambda p: "/" + "".join(p))
_FORWARD_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,=:@/%]*")


@settings(max_examples=300, deadline=None)
@given(_PATHS | st.text(max_size=40))
def test_any_path_is_refused_or_canonical(raw: str) -> None:
    try:
        path = normalise(raw)
    except BadPath:
        return
    assert isinstance(path, RequestPath)
    assert path.forward.startswith("/") and _FORWARD_CHARS.fullmatch(path.forward)
    assert "//" not in path.forward and "//" not in path.match
    segments = path.forward.split("/")
    assert "." not in segments and ".." not in segments
    assert normalise(path.forward) == path
    assert match_route(ROUTES, normalise(path.forward)) == match_route(ROUTES, path)
    # A WHATWG parser (Node's URL, what Next.js reads req.url with) sees the very same path.
    assert URL("http://upstream.test" + path.forward).pathname == path.forward
    assert path.match == path.match.lower()


def _outcome(parse: Callable[[str], RequestPath], raw: str) -> RequestPath | str:
    try:
        return parse(raw)
    except BadPath:
        return "BadPath"


_SIMPLE_SEGMENTS = st.lists(
    st.text(alphabet="aZ09.-_~!$&'()*+,=:@", min_size=1, max_size=6), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(_SIMPLE_SEGMENTS, st.booleans())
def test_fast_path_agrees_with_the_full_parse(segments: list[str], slash: bool) -> None:
    """normalise() skips the general parse for already-canonical paths; same answers."""
    raw = "/" + "/".join(segments) + ("/" if slash and segments else "")
    assert _outcome(normalise, raw) == _outcome(_parse, raw)
