"""gateway.session.cookies: Cookie header parsing, the chunk table, and Set-Cookie strings.

tests/interop compares the same reads and writes with the real packages' SessionStore.
"""

from __future__ import annotations

import time

import pytest

from gateway.session.cookies import (
    CHUNK_SIZE,
    SessionCookie,
    delete_session,
    parse_cookie_header,
    read_session,
    set_session,
    without,
)

B = "next-auth.session-token"
S = "__Secure-" + B
T = 1_800_000_000
EXPIRES = "Fri, 15 Jan 2027 08:00:00 GMT"  # T, as JavaScript's toUTCString writes it


def test_chunk_sizes_are_the_packages() -> None:
    assert CHUNK_SIZE == {"nextauth-v4": 3933, "authjs-v5": 3936}


# --- parse_cookie_header ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "pairs"),
    [
        pytest.param([], [], id="none"),
        pytest.param([""], [], id="empty"),
        pytest.param(["a=1"], [("a", "1")], id="one"),
        pytest.param(["a=1; b=2", "c=3"], [("a", "1"), ("b", "2"), ("c", "3")], id="two-headers"),
        pytest.param([" a = 1 ;\tb=2\t"], [("a", "1"), ("b", "2")], id="spaces-and-tabs"),
        pytest.param(["a=1;;; b=2;"], [("a", "1"), ("b", "2")], id="empty-pieces"),
        pytest.param(["a=x=y"], [("a", "x=y")], id="equals-in-value"),
        pytest.param(['a="q"; b=%41'], [("a", '"q"'), ("b", "%41")], id="values-kept-raw"),
        pytest.param(["flag; a=1"], [("", "flag"), ("a", "1")], id="nameless"),
        pytest.param(["a=1; a=2"], [("a", "1"), ("a", "2")], id="duplicates-kept"),
        pytest.param(["a=; =b"], [("a", ""), ("", "b")], id="empty-name-or-value"),
        pytest.param(["ü=é\x00"], [("ü", "é\x00")], id="odd-bytes"),
    ],
)
def test_parse_cookie_header(headers: list[str], pairs: list[tuple[str, str]]) -> None:
    assert parse_cookie_header(headers) == pairs


# --- read_session -----------------------------------------------------------------------

READS = [
    # (cookie header, name, value, problem, present, extraneous)
    pytest.param("x=1", None, None, None, (), (), id="absent"),
    pytest.param(f"{B}=tok", B, "tok", None, (B,), (), id="bare"),
    pytest.param(f"{S}=tok", S, "tok", None, (S,), (), id="secure"),
    pytest.param(f"{B}=old; {S}=new", S, "new", None, (B, S), (B,), id="secure-wins"),
    pytest.param(f"{B}.1=b; {B}.0=a", B, "ab", None, (f"{B}.1", f"{B}.0"), (), id="chunks"),
    pytest.param(f"{B}.0=whole", B, "whole", None, (f"{B}.0",), (), id="one-chunk"),
    pytest.param(
        f"{S}.0=a; {S}.1=b; {B}=x",
        S,
        "ab",
        None,
        (f"{S}.0", f"{S}.1", B),
        (B,),
        id="secure-chunks-win",
    ),
    pytest.param(f"{B}.0=a; {B}.2=c", B, None, "gap", (f"{B}.0", f"{B}.2"), (), id="gap"),
    pytest.param(f"{B}.1=b", B, None, "gap", (f"{B}.1",), (), id="no-zero"),
    pytest.param(
        f"{B}=a; {B}.0=b",
        B,
        None,
        "bare name plus chunks",
        (B, f"{B}.0"),
        (),
        id="bare-plus-chunks",
    ),
    pytest.param(
        f"{B}.0=a; {B}.01=b", B, None, "bad index", (f"{B}.0", f"{B}.01"), (), id="leading-zero"
    ),
    pytest.param(f"{B}.x=a", B, None, "bad index", (f"{B}.x",), (), id="non-decimal"),
    pytest.param(f"{B}.=a", B, None, "bad index", (f"{B}.",), (), id="empty-index"),
    pytest.param(f"{B}.-1=a", B, None, "bad index", (f"{B}.-1",), (), id="negative"),
    pytest.param(f"{B}.1234567=a", B, None, "bad index", (f"{B}.1234567",), (), id="huge"),
    pytest.param(f"{B}.٣=a", B, None, "bad index", (f"{B}.٣",), (), id="unicode-digit"),
    pytest.param(f"{B}.0.1=a", B, None, "bad index", (f"{B}.0.1",), (), id="dotted"),
    pytest.param(f"{B}=", B, None, "empty", (B,), (), id="empty-bare"),
    pytest.param(f"{B}.0=a; {B}.1=", B, None, "empty", (f"{B}.0", f"{B}.1"), (), id="empty-chunk"),
    pytest.param(f"{B}=a; {B}=b", B, None, "duplicate", (B,), (), id="duplicate-bare"),
    pytest.param(f"{B}.0=a; {B}.0=a", B, None, "duplicate", (f"{B}.0",), (), id="duplicate-chunk"),
    pytest.param(
        f"{B}=a; {B}-x=b; {B}x=c; x{B}=d",
        B,
        "a",
        None,
        (B,),
        (f"{B}-x", f"{B}x"),
        id="lookalikes-are-not-the-session",
    ),
    pytest.param(f"{B}-x=b", None, None, None, (), (f"{B}-x",), id="only-lookalike"),
    pytest.param(f"{S}x=b; {S}=a", S, "a", None, (S,), (f"{S}x",), id="secure-lookalike"),
    pytest.param(f"{B.upper()}=a", None, None, None, (), (), id="names-are-case-sensitive"),
]


@pytest.mark.parametrize(("header", "name", "value", "problem", "present", "extraneous"), READS)
def test_read_session(
    header: str,
    name: str | None,
    value: str | None,
    problem: str | None,
    present: tuple[str, ...],
    extraneous: tuple[str, ...],
) -> None:
    found = read_session(parse_cookie_header([header]), B, 8)
    assert found == SessionCookie(name, value, present, problem, extraneous)


@pytest.mark.parametrize(
    ("count", "problem"), [(8, None), (9, "too many")], ids=["max-chunks", "one-more"]
)
def test_at_most_max_chunks(count: int, problem: str | None) -> None:
    pairs = [(f"{B}.{i}", str(i)) for i in range(count)]
    found = read_session(pairs, B, 8)
    assert found.problem == problem
    assert found.value == (None if problem else "01234567")


def test_chunks_join_in_numeric_order() -> None:
    pairs = [(f"{B}.{i}", f"<{i}>") for i in (10, 2, 0, 1, 11, 3, 4, 5, 6, 7, 8, 9)]
    assert read_session(pairs, B, 12).value == "".join(f"<{i}>" for i in range(12))


def test_a_secure_base_name_reads_the_same_family() -> None:
    pairs = [(B, "plain"), (S, "secure")]
    assert read_session(pairs, S, 8) == read_session(pairs, B, 8)


def test_an_empty_base_name_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        read_session([], "__Secure-", 8)


def test_thousands_of_cookies_stay_fast() -> None:
    """A megabyte of Cookie header (about 60,000 cookies, many of them look-alikes) parses
    and reads in linear time: well under a second, where a quadratic scan takes minutes."""
    junk = "; ".join(f"{B}{i}=v; c{i}={'x' * 8}; {B}.{i}x=y" for i in range(20_000))
    header = f"{junk}; {B}.0=a; {B}.1=b"
    assert len(header) > 1_000_000
    start = time.perf_counter()
    found = read_session(parse_cookie_header([header]), B, 8)
    elapsed = time.perf_counter() - start
    assert found.problem == "bad index"
    assert elapsed < 1.0


# --- without ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "names", "result"),
    [
        pytest.param("a=1; b=2; c=3", {"b"}, "a=1; c=3", id="middle"),
        pytest.param("a=1; b=2", {"a", "b"}, "", id="everything"),
        pytest.param("a=1; a=2; b=3", {"a"}, "b=3", id="every-copy"),
        pytest.param("a=1;b=2", set(), "a=1; b=2", id="nothing-normalised"),
        pytest.param("flag; a=1", {"a"}, "flag", id="nameless-kept"),
        pytest.param('q="x y"; b=%41', set(), 'q="x y"; b=%41', id="raw-values"),
    ],
)
def test_without(header: str, names: set[str], result: str) -> None:
    assert without(parse_cookie_header([header]), names) == result


# --- set_session / delete_session -------------------------------------------------------


def live(name: str, value: str, extra: str = "", secure: bool = False) -> str:
    flag = "; Secure" if secure else ""
    return f"{name}={value}{extra}; Path=/; Expires={EXPIRES}; HttpOnly{flag}; SameSite=Lax"


def gone(name: str, extra: str = "", secure: bool = False) -> str:
    flag = "; Secure" if secure else ""
    return f"{name}=; Max-Age=0{extra}; Path=/; HttpOnly{flag}; SameSite=Lax"


WRITES = [
    # (name, token, secure, domain, present, Set-Cookie values)
    pytest.param(B, "abc", False, None, (), [live(B, "abc")], id="bare"),
    pytest.param(B, "abcd", False, None, (), [live(B, "abcd")], id="exactly-one-chunk"),
    pytest.param(
        B, "abcde", False, None, (), [live(f"{B}.0", "abcd"), live(f"{B}.1", "e")], id="one-over"
    ),
    pytest.param(B, "abc", True, None, (), [live(B, "abc", secure=True)], id="secure"),
    pytest.param(
        S, "abc", False, None, (), [live(S, "abc", secure=True)], id="secure-forced-by-prefix"
    ),
    pytest.param(
        B, "abc", False, "example.com", (), [live(B, "abc", "; Domain=example.com")], id="domain"
    ),
    pytest.param(
        B,
        "abcdefghij",
        False,
        None,
        (B,),
        [live(f"{B}.0", "abcd"), live(f"{B}.1", "efgh"), live(f"{B}.2", "ij"), gone(B)],
        id="bare-to-chunks",
    ),
    pytest.param(
        B,
        "abc",
        False,
        None,
        (f"{B}.0", f"{B}.1"),
        [live(B, "abc"), gone(f"{B}.0"), gone(f"{B}.1")],
        id="chunks-to-bare",
    ),
    pytest.param(
        B,
        "abcdefg",
        False,
        "example.com",
        (f"{B}.0", f"{B}.1", f"{B}.2", f"{B}.x"),
        [
            live(f"{B}.0", "abcd", "; Domain=example.com"),
            live(f"{B}.1", "efg", "; Domain=example.com"),
            gone(f"{B}.2", "; Domain=example.com"),
            gone(f"{B}.x", "; Domain=example.com"),
        ],
        id="shrink-deletes-stale-and-bad",
    ),
    pytest.param(
        S,
        "abc",
        True,
        None,
        (B, f"{B}.0", S),
        [live(S, "abc", secure=True)],
        id="other-variant-left-alone",
    ),
]


@pytest.mark.parametrize(("name", "token", "secure", "domain", "present", "expected"), WRITES)
def test_set_session(
    name: str,
    token: str,
    secure: bool,
    domain: str | None,
    present: tuple[str, ...],
    expected: list[str],
) -> None:
    written = set_session(
        name, token, expires=T, secure=secure, domain=domain, chunk_size=4, present=present
    )
    assert written == expected


MESSAGES = {
    "invalid cookie name",
    "invalid cookie value",
    "invalid cookie domain",
    "an empty token or chunk size cannot be written",
}


@pytest.mark.parametrize(
    ("name", "token", "domain"),
    [
        pytest.param(B, "", None, id="empty-token"),
        pytest.param(B, "a;b", None, id="semicolon"),
        pytest.param(B, "a\r\nSet-Cookie: x=1", None, id="crlf"),
        pytest.param(B, "a b", None, id="space"),
        pytest.param("a=b", "tok", None, id="bad-name"),
        pytest.param(B, "tok", "evil.com; Secure", id="bad-domain"),
        pytest.param(B, "tok", "ex ample.com", id="space-in-domain"),
    ],
)
def test_set_session_refuses_what_could_inject(name: str, token: str, domain: str | None) -> None:
    with pytest.raises(ValueError) as caught:
        set_session(name, token, expires=T, secure=False, domain=domain, chunk_size=4, present=())
    assert str(caught.value) in MESSAGES  # fixed text: never the token itself


@pytest.mark.parametrize(
    ("names", "secure", "domain", "expected"),
    [
        pytest.param([B], False, None, [gone(B)], id="plain"),
        pytest.param([B], True, None, [gone(B, secure=True)], id="secure"),
        pytest.param(
            [S, f"{S}.0"],
            False,
            None,
            [gone(S, secure=True), gone(f"{S}.0", secure=True)],
            id="secure-forced-by-prefix",
        ),
        pytest.param(
            [B, B],
            False,
            "example.com",
            [gone(B, "; Domain=example.com")],
            id="deduplicated-with-domain",
        ),
        pytest.param([], False, None, [], id="nothing"),
    ],
)
def test_delete_session(
    names: list[str], secure: bool, domain: str | None, expected: list[str]
) -> None:
    assert delete_session(names, secure=secure, domain=domain) == expected


@pytest.mark.parametrize(
    "name",
    [f"{B}.\u0663", f"{B}.(", f"{B}.0 1", f'{B}."', f"{B}.a,b"],
    ids=["unicode-digit", "paren", "space", "quote", "comma"],
)
def test_delete_session_skips_names_it_cannot_write(name: str) -> None:
    """A hostile family name the browser sent is not written back (nor does it raise: that
    was a 500 for ``Cookie: B.\u0663=x``); the writable names beside it are still deleted."""
    assert delete_session([name, B], secure=False, domain=None) == [gone(B)]


@pytest.mark.parametrize(
    ("expires", "date"),
    [
        pytest.param(10**20, "Fri, 31 Dec 9999 23:59:59 GMT", id="past-year-9999"),
        pytest.param(-(10**308), "Thu, 01 Jan 1970 00:00:00 GMT", id="before-1970"),
        pytest.param(0, "Thu, 01 Jan 1970 00:00:00 GMT", id="epoch"),
    ],
)
def test_an_expiry_no_http_date_can_write_is_written_as_the_nearest(
    expires: int, date: str
) -> None:
    """An exp the claims allow (a number) but an HTTP date cannot hold is no exception."""
    (written,) = set_session(
        B, "tok", expires=expires, secure=False, domain=None, chunk_size=8, present=()
    )
    assert f"; Expires={date};" in written
