"""Drive a server with wrk and read back its numbers.

wrk prints one ``BENCH_JSON {...}`` line from bench/wrk.lua's ``done()``: exact request
counts and latency percentiles from wrk's own histogram, rather than its rounded text report.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk.lua")
# What a browser sends on a navigation: the gateway answers a missing session with a 302.
BROWSER_HEADERS = (
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) bench"),
    ("Accept-Language", "en-US,en;q=0.5"),
)


class LoadError(RuntimeError):
    """wrk is missing, failed, or printed no summary."""


@dataclass(frozen=True, slots=True)
class CookiePool:
    """Rotate through lines [first, first + count) of ``path`` (count 0: to the end)."""

    path: Path
    first: int = 0
    count: int = 0
    once: bool = False  # stop each thread at the end of its share instead of wrapping
    done: Path | None = None  # with once: each thread creates <done>.<id> when it stops


@dataclass(frozen=True, slots=True)
class Load:
    connections: int
    seconds: int
    threads: int = 1
    cookie: str | None = None  # one Cookie header value for every request
    pool: CookiePool | None = None  # or a different cookie on every request
    path: str = "/dashboard?tab=activity"


@dataclass(frozen=True, slots=True)
class Outcome:
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise LoadError("wrk is not installed: `make bench-tools` installs it")
    return path


def command(url: str, load: Load) -> list[str]:
    args = [
        wrk_path(),
        "--latency",
        "-t",
        str(load.threads),
        "-c",
        str(load.connections),
        "-d",
        f"{load.seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
    ]
    for name, value in BROWSER_HEADERS:
        args += ["-H", f"{name}: {value}"]
    if load.cookie is not None:
        args += ["-H", f"Cookie: {load.cookie}"]
    return [*args, url.rstrip("/") + load.path]


def environment(load: Load, cookie_name: str) -> dict[str, str]:
    env = dict(os.environ, BENCH_WRK_THREADS=str(load.threads), BENCH_COOKIE_NAME=cookie_name)
    if load.pool is not None:
        env.update(
            BENCH_COOKIES=str(load.pool.path),
            BENCH_COOKIES_FIRST=str(load.pool.first),
            BENCH_COOKIES_COUNT=str(load.pool.count),
            BENCH_COOKIES_ONCE="1" if load.pool.once else "0",
        )
        if load.pool.done is not None:
            env["BENCH_DONE"] = str(load.pool.done)
    return env


def run(url: str, load: Load, *, cookie_name: str) -> Outcome:
    done = subprocess.run(
        command(url, load),
        env=environment(load, cookie_name),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise LoadError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    return parse(done.stdout)


def parse(stdout: str) -> Outcome:
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            data: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
            return Outcome(
                int(data["requests"]),
                data["duration_us"] / 1e6,
                {k: int(v) for k, v in data["errors"].items()},
                {k: float(v) for k, v in data["latency_us"].items()},
            )
    raise LoadError("wrk printed no BENCH_JSON summary line")
