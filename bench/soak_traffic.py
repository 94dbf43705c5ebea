"""The soak's traffic: each kind of request a gateway meets in a day, and what it must answer.

A status outside a kind's expected set is a wrong answer, counted apart from the 5xx: a
gateway that stays flat in memory because it let garbage through has proven nothing. The
answers are those of bench/servers.py's config (its ``general`` policy: max_age 1d,
update_age 6h; ``/admin/`` for the ``admin`` role; ``/api/`` answers 401) and the gateway's
response table (docs/architecture.md): a navigation is sent to the login page (302), anything
else gets a 401.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from bench.cookies import COOKIE, DUE_AGE, FRESH_AGE, MAX_AGE, SECRET, mint
from gateway.session import SessionCodec

VALID, POOL, RENEWING, EXPIRED = "valid", "valid-pool", "renewing", "expired"
FORBIDDEN, GARBAGE, NO_COOKIE, WEBSOCKET = "forbidden", "garbage", "no-cookie", "websocket"
# The order the client tasks take turns in; each task starts at its own offset.
KINDS = (VALID, POOL, RENEWING, EXPIRED, FORBIDDEN, GARBAGE, NO_COOKIE, WEBSOCKET)

NAVIGATION = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
API = {"Accept": "application/json"}
UPLOAD = b"u" * 1024  # a small POST body: bodies are streamed through as well
EXPIRED_AGE = MAX_AGE + 3600  # exp an hour ago: far beyond the 15 s clock skew
DUE_COOKIES = EXPIRED_COOKIES = 64
# Cookie-value characters, ';' excepted: it would only start another cookie.
PRINTABLE = [c for c in string.printable if " " < c <= "~" and c != ";"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One HTTP request and the answers that are right for it."""

    method: str
    path: str
    headers: dict[str, str]
    expected: frozenset[int]
    body: bytes | None = None
    renews: bool = False  # the answer must carry a renewed session cookie


@dataclass(frozen=True, slots=True)
class Cookies:
    """Session cookie values for the bench config's secret, all of the ``general`` policy."""

    fresh: str  # one valid session sent again and again: a cache hit each time
    pool: tuple[str, ...]  # distinct valid sessions, more than the decode cache holds
    due: tuple[str, ...]  # past update_age: renewed on every request
    expired: tuple[str, ...]


def mint_cookies(pool: int, now: int) -> Cookies:
    codec = SessionCodec("nextauth-v4", [SECRET])
    return Cookies(
        fresh=mint(codec, 0, now, FRESH_AGE),
        pool=tuple(mint(codec, i, now, FRESH_AGE) for i in range(1, pool + 1)),
        due=tuple(mint(codec, i, now, DUE_AGE) for i in range(DUE_COOKIES)),
        expired=tuple(mint(codec, i, now, EXPIRED_AGE) for i in range(EXPIRED_COOKIES)),
    )


def session(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


class Traffic:
    """The next request of each kind. The pool is walked in order, shared by every task, so
    that once it is larger than the decode cache every one of its requests is a miss."""

    def __init__(self, cookies: Cookies, rng: random.Random) -> None:
        self.cookies = cookies
        self._rng = rng
        self._turns: Counter[str] = Counter()
        self._builders: dict[str, Callable[[int], Probe]] = {
            VALID: self._valid,
            POOL: self._pool,
            RENEWING: self._renewing,
            EXPIRED: self._expired,
            FORBIDDEN: self._forbidden,
            GARBAGE: self._garbage,
            NO_COOKIE: self._no_cookie,
        }

    def next(self, kind: str) -> Probe:
        turn = self._turns[kind]
        self._turns[kind] += 1
        return self._builders[kind](turn)

    def _valid(self, turn: int) -> Probe:
        if turn % 2:
            return Probe(
                "POST",
                "/api/items",
                {**API, **session(self.cookies.fresh)},
                frozenset({200}),
                body=UPLOAD,
            )
        return Probe("GET", "/", {**NAVIGATION, **session(self.cookies.fresh)}, frozenset({200}))

    def _pool(self, turn: int) -> Probe:
        value = self.cookies.pool[turn % len(self.cookies.pool)]
        return Probe("GET", f"/app/page/{turn}", {**NAVIGATION, **session(value)}, frozenset({200}))

    def _renewing(self, turn: int) -> Probe:
        value = self.cookies.due[turn % len(self.cookies.due)]
        return Probe(
            "GET", "/account", {**NAVIGATION, **session(value)}, frozenset({200}), renews=True
        )

    def _expired(self, turn: int) -> Probe:
        value = self.cookies.expired[turn % len(self.cookies.expired)]
        return _refused(turn, {"Cookie": f"{COOKIE}={value}"})

    def _forbidden(self, turn: int) -> Probe:
        # bench.cookies' users have the role "user": the general policy, not admin
        accept = API if turn % 2 else NAVIGATION
        return Probe(
            "GET", "/admin/users", {**accept, **session(self.cookies.fresh)}, frozenset({403})
        )

    def _garbage(self, turn: int) -> Probe:
        return _refused(turn, {"Cookie": garbage(self._rng, self.cookies.fresh)})

    def _no_cookie(self, turn: int) -> Probe:
        return _refused(turn, {})


def _refused(turn: int, cookie: dict[str, str]) -> Probe:
    """No usable session: a navigation goes to the login page, an API call gets a 401."""
    if turn % 2:
        return Probe("GET", "/api/me", {**API, **cookie}, frozenset({401}))
    return Probe("GET", "/dashboard", {**NAVIGATION, **cookie}, frozenset({302}))


def garbage(rng: random.Random, token: str) -> str:
    """A ``Cookie`` header whose session cookie is not a session, new on every call (so the
    decode cache churns with failures as well); ``token`` is a valid one to mangle."""
    return rng.choice(_GARBAGE)(rng, token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _random_base64(rng: random.Random, token: str) -> str:
    return f"{COOKIE}={_b64(rng.randbytes(rng.randint(1, 3000)))}"


def _random_printable(rng: random.Random, token: str) -> str:
    return f"{COOKIE}={''.join(rng.choices(PRINTABLE, k=rng.randint(1, 3000)))}"


def _truncated(rng: random.Random, token: str) -> str:
    return f"{COOKIE}={token[: rng.randrange(1, len(token))]}"


def _tampered(rng: random.Random, token: str) -> str:
    """One character of the ciphertext changed. Not the segment's last: its low bits may be
    padding, and a change there could leave the bytes, and the token, as they were."""
    header, key, iv, ciphertext, tag = token.split(".")
    at = rng.randrange(len(ciphertext) - 1)
    flipped = "A" if ciphertext[at] != "A" else "B"
    ciphertext = ciphertext[:at] + flipped + ciphertext[at + 1 :]
    return f"{COOKIE}={'.'.join((header, key, iv, ciphertext, tag))}"


def _jwe_shaped(rng: random.Random, token: str) -> str:
    parts = [_b64(rng.randbytes(n)) for n in (36, 0, 12, rng.randint(1, 600), 16)]
    return f"{COOKIE}={'.'.join(parts)}"


def _unsigned(rng: random.Random, token: str) -> str:
    header = _b64(json.dumps({"alg": "none"}).encode())
    claims = _b64(json.dumps({"sub": f"mallory-{rng.randrange(10**9)}", "role": "admin"}).encode())
    return f"{COOKIE}={header}.{claims}."


def _chunks(rng: random.Random, token: str) -> str:
    half = rng.randrange(1, len(token))
    index = rng.choice([2, 7, 10**6])  # a gap (never .1: that would be the valid token)
    return f"{COOKIE}.0={token[:half]}; {COOKIE}.{index}={token[half:]}"


_GARBAGE: tuple[Callable[[random.Random, str], str], ...] = (
    _random_base64,
    _random_printable,
    _truncated,
    _tampered,
    _jwe_shaped,
    _unsigned,
    _chunks,
)
