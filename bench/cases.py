"""The cases of issue 5 and the targets each one drives.

(a) the same valid cookie on every request; (b) a valid cookie the gateway has not seen (a
pool 2.5x the decode cache, walked in order, so every request misses); (c) every request due
for renewal; (d) no cookie, a browser navigation: 302 to the login page; (e) the gateway with
``--workers 2`` against ``--workers 1``, cookies as in (a); between them ``s1``, one worker
under the supervisor (multiprocess metrics, nothing shared), which tells the metrics' share of
the difference from the share of two workers competing for the cores.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.loadgen import CookiePool, Load

BARE, NAIVE = "bare", "naive"


@dataclass(frozen=True, slots=True)
class Case:
    key: str
    title: str
    targets: tuple[str, ...]  # server names, in the order they are driven each round
    cookie: str | None = None  # the Cookie header value, or...
    pool: CookiePool | None = None  # ...a different cookie on every request
    expect: tuple[tuple[str, int], ...] = ()  # target -> status of the sanity probe
    renews: bool = False  # the gateway's answer must carry a Set-Cookie

    def load(self, connections: int, seconds: int, threads: int) -> Load:
        return Load(connections, seconds, threads, cookie=self.cookie, pool=self.pool)

    def status(self, target: str) -> int:
        return dict(self.expect).get(target, 200)


def gateway(key: str) -> str:
    return f"gateway-{key}"


def build(keys: str, *, fresh: str, due: str, pool: CookiePool, cookie_name: str) -> list[Case]:
    both = (BARE, NAIVE)
    every = {
        "a": Case("a", "same valid cookie", (*both, gateway("a")), f"{cookie_name}={fresh}"),
        "b": Case("b", "new cookie every request", (*both, gateway("b")), pool=pool),
        "c": Case(
            "c", "every request renewed", (*both, gateway("c")), f"{cookie_name}={due}", renews=True
        ),
        "d": Case(
            "d",
            "no cookie -> 302",
            (*both, gateway("d")),
            expect=((NAIVE, 302), (gateway("d"), 302)),
        ),
        "e": Case(
            "e",
            "workers 1 vs 2, cookie as (a)",
            (gateway("w1"), gateway("s1"), gateway("w2")),
            f"{cookie_name}={fresh}",
        ),
    }
    return [every[key] for key in keys]
