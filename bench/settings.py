"""The benchmark's knobs: command-line options, each defaulting to a BENCH_* variable, so
``make bench BENCH_DURATION=10`` and ``python -m bench --duration 10`` say the same."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CASES = "abcde"
UPSTREAMS = ("aiohttp", "nginx")


@dataclass(frozen=True, slots=True)
class Settings:
    connections: int
    duration: int  # seconds of one measured wrk run (wrk counts whole seconds)
    rounds: int  # A B A B: every target once per round, per case
    warmup: int  # 0: none
    threads: int  # wrk threads
    cases: str
    upstream: str
    cache_entries: int  # the gateway's limits.decode_cache_entries
    pool: int  # distinct cookies for case (b); at least twice the cache
    memory_requests: int  # the memory check's N; 0 skips it
    out: Path
    keep: bool  # keep the work directory (configs, logs, cookie files)


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name}") or default


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark the gateway against a bare aiohttp proxy and a naive jwcrypto proxy on "
            "loopback with wrk. Every option defaults to the BENCH_<NAME> environment variable."
        ),
    )
    p.add_argument("--connections", type=int, default=int(_env("CONNECTIONS", "50")))
    p.add_argument(
        "--duration",
        type=int,
        default=int(_env("DURATION", "5")),
        help="seconds per measured run (default 5)",
    )
    p.add_argument("--rounds", type=int, default=int(_env("ROUNDS", "2")))
    p.add_argument(
        "--warmup",
        type=int,
        default=int(_env("WARMUP", "1")),
        help="seconds of unmeasured load per target first (0: none)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=int(_env("THREADS", "1")),
        help="wrk threads (default 1: the load generator shares the machine)",
    )
    p.add_argument(
        "--cases", default=_env("CASES", CASES), help="which of a b c d e to run (default all)"
    )
    p.add_argument("--upstream", choices=UPSTREAMS, default=_env("UPSTREAM", "aiohttp"))
    p.add_argument("--cache-entries", type=int, default=int(_env("CACHE_ENTRIES", "1000")))
    p.add_argument(
        "--pool",
        type=int,
        default=int(_env("POOL", "2500")),
        help="distinct cookies for case (b) (default 2500)",
    )
    p.add_argument(
        "--memory-requests",
        type=int,
        default=int(_env("MEMORY_REQUESTS", "100000")),
        help="N for the memory check, each with a new cookie (0 skips it)",
    )
    p.add_argument("--out", type=Path, default=Path(_env("OUT", "bench/results")))
    p.add_argument(
        "--keep",
        action="store_true",
        default=_env("KEEP", "") == "1",
        help="keep the work directory (configs, logs, cookies)",
    )
    return p


def parse(argv: Sequence[str] | None = None) -> Settings:
    p = parser()
    args = p.parse_args(argv)
    cases = "".join(c for c in CASES if c in args.cases.lower())
    if not cases:
        p.error("--cases names none of a b c d e")
    if args.pool < 2 * args.cache_entries and "b" in cases:
        p.error("--pool must be at least twice --cache-entries: case (b) must always miss")
    if min(args.connections, args.rounds, args.threads, args.duration) < 1 or args.warmup < 0:
        p.error("connections, rounds, threads and duration must be at least 1")
    return Settings(
        args.connections,
        args.duration,
        args.rounds,
        args.warmup,
        args.threads,
        cases,
        args.upstream,
        args.cache_entries,
        args.pool,
        args.memory_requests,
        args.out,
        args.keep,
    )
