"""``python -m bench.soak`` (``make soak``): mixed traffic against a real gateway for N minutes,
then what it did to the gateway: requests, errors, statuses, 5xx, RSS and open descriptors.

Everything runs on 127.0.0.1: an aiohttp upstream with a WebSocket echo
(bench/soak_upstream.py) and ``python -m gateway run`` with the benchmark's config and a small
``limits.decode_cache_entries`` (bench/servers.py), so that the cache fills and evicts. K client
tasks take turns through the kinds of bench/soak_traffic.py: valid (one cookie again and
again, and a pool of distinct cookies larger than the cache), renewing, expired, forbidden,
garbage, no cookie, and WebSocket sessions. The first ``--warmup`` seconds let the cache fill
and the allocator settle; RSS is measured from their end.

Exit status: 0 when the run is clean; 1 on any 5xx, on RSS growing more than
``--max-rss-growth-mb`` after warm-up, on a wrong answer or a client-side error; 2 when the
servers do not start.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import servers, soak_report
from bench.soak_drive import Plan, drive
from bench.soak_traffic import Traffic, mint_cookies

SEED = 20240917  # the garbage is random, but the same from run to run


@dataclass(frozen=True, slots=True)
class Settings:
    seconds: float
    warmup: float
    concurrency: int
    cache_entries: int
    pool: int
    max_rss_growth_mb: float
    out: Path


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, default=2.0, help="how long (default 2)")
    p.add_argument("--seconds", type=float, help="how long, for short runs (wins over --minutes)")
    p.add_argument(
        "--warmup",
        type=float,
        default=15.0,
        help="seconds of load before the first reading (default 15)",
    )
    p.add_argument("--concurrency", type=int, default=20, help="client tasks (default 20)")
    p.add_argument(
        "--cache-entries",
        type=int,
        default=1000,
        help="the gateway's limits.decode_cache_entries (default 1000)",
    )
    p.add_argument(
        "--pool",
        type=int,
        default=2500,
        help="distinct valid cookies, walked in turn; more than the cache (default 2500)",
    )
    p.add_argument(
        "--max-rss-growth-mb",
        type=float,
        default=20.0,
        help="RSS growth after warm-up that fails the run (default 20)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=servers.ROOT / "bench" / "results",
        help="where soak-<time>.json goes (default bench/results)",
    )
    return p


def parse(argv: Sequence[str] | None = None) -> Settings:
    p = parser()
    args = p.parse_args(argv)
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    if not 0 <= args.warmup < seconds:
        p.error("--warmup must be at least 0 and shorter than the run")
    if args.concurrency < 1 or args.cache_entries < 1:
        p.error("--concurrency and --cache-entries must be at least 1")
    if args.pool <= args.cache_entries:
        p.error("--pool must be larger than --cache-entries: the cache must fill and evict")
    return Settings(
        seconds,
        args.warmup,
        args.concurrency,
        args.cache_entries,
        args.pool,
        args.max_rss_growth_mb,
        args.out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse(argv)
    with tempfile.TemporaryDirectory(prefix="gateway-soak-") as workdir:
        try:
            doc = soak(settings, Path(workdir))
        except servers.StartError as exc:
            print(f"soak: {exc}", file=sys.stderr)
            return 2
    print(soak_report.text(doc))
    print(f"\nsoak: report written to {soak_report.write(doc, settings.out)}", flush=True)
    return 0 if doc["ok"] else 1


def soak(settings: Settings, workdir: Path) -> dict[str, Any]:
    traffic = Traffic(mint_cookies(settings.pool, int(time.time())), random.Random(SEED))
    port = servers.free_port()
    upstream = servers.start(
        "upstream",
        [sys.executable, "-m", "bench.soak_upstream", "--port", str(port)],
        port,
        log=workdir / "upstream.log",
    )
    try:
        gateway = servers.start_gateway(
            "gateway-soak",
            upstream,
            workdir,
            cache_entries=settings.cache_entries,
            log=workdir / "gateway.log",
        )
        try:
            print(
                f"soak: {settings.seconds:g} s of mixed traffic against {gateway.url} "
                f"(pid {gateway.process.pid})",
                file=sys.stderr,
                flush=True,
            )
            outcome = asyncio.run(
                drive(
                    Plan(
                        gateway.url,
                        gateway.process.pid,
                        settings.seconds,
                        settings.warmup,
                        settings.concurrency,
                    ),
                    traffic,
                )
            )
            exited = gateway.process.poll()
        finally:
            gateway.stop()
    finally:
        upstream.stop()
    recorded = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}
    return soak_report.document(
        recorded,
        outcome,
        gateway_exit=exited,
        limit_bytes=int(settings.max_rss_growth_mb * soak_report.MB),
    )


if __name__ == "__main__":
    sys.exit(main())
