"""Item 5 of issue 5: the gateway's memory stays flat once its decode cache is full.

A fresh gateway gets 2x ``decode_cache_entries`` distinct cookies (the cache is now full and
has evicted), its RSS is read, then N further requests each carrying a cookie it has never
seen. Every one of those is a miss, a decrypt, an insert and an eviction: a leak per new
session would show as RSS growing with N. RSS is sampled every second along the way.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import loadgen, servers
from bench.cookies import COOKIE, write_pool
from bench.servers import Server
from bench.settings import Settings

LIMIT_BYTES = 10 * 1024 * 1024
SLOWEST_RPS = 300  # a wrk run taking longer than this rate allows has hung


def check(upstream: Server, workdir: Path, settings: Settings) -> dict[str, Any]:
    fill, count = 2 * settings.cache_entries, settings.memory_requests
    started = time.monotonic()
    pool = write_pool(workdir / "memory-cookies.txt", fill + count, now=int(time.time()))
    minted = time.monotonic() - started
    print(
        f"bench: memory check: minted {fill + count:,} cookies in {minted:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    gateway = servers.start_gateway(
        "gateway-memory", upstream, workdir, cache_entries=settings.cache_entries
    )
    try:
        first, _ = _phase(
            gateway,
            loadgen.CookiePool(pool, 0, fill, once=True, done=workdir / "fill-done"),
            settings,
        )
        filled = gateway.usage()
        second, samples = _phase(
            gateway,
            loadgen.CookiePool(pool, fill, count, once=True, done=workdir / "run-done"),
            settings,
        )
        after = gateway.usage()
    finally:
        gateway.stop()
    growth = after.rss_bytes - filled.rss_bytes
    return {
        "cache_entries": settings.cache_entries,
        "fill_requests": first.requests,
        "requests": second.requests,
        "distinct_cookies": fill + count,
        "errors": first.failed + second.failed,
        "rss_filled_bytes": filled.rss_bytes,
        "rss_after_bytes": after.rss_bytes,
        "hwm_after_bytes": after.hwm_bytes,
        "growth_bytes": growth,
        "limit_bytes": LIMIT_BYTES,
        "met": growth <= LIMIT_BYTES,
        "rss_samples_bytes": samples,
        "rps": round(second.rps),
    }


def _phase(
    gateway: Server, pool: loadgen.CookiePool, settings: Settings
) -> tuple[loadgen.Outcome, list[int]]:
    """Send each cookie of ``pool`` once; the gateway's RSS sampled every second."""
    assert pool.done is not None
    load = loadgen.Load(settings.connections, 86_400, settings.threads, pool=pool)
    markers = [pool.done.with_name(f"{pool.done.name}.{i}") for i in range(settings.threads)]
    process = subprocess.Popen(
        loadgen.command(gateway.url, load),
        text=True,
        env=loadgen.environment(load, COOKIE),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60 + pool.count / SLOWEST_RPS
    samples: list[int] = []
    next_sample = time.monotonic()
    # wrk runs for its whole duration even when every thread has stopped: SIGINT ends it
    # early, and it still prints its summary.
    while not all(marker.exists() for marker in markers):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise loadgen.LoadError(f"wrk did not get through its cookies: {process.stderr}")
        if time.monotonic() >= next_sample:
            samples.append(gateway.usage().rss_bytes)
            next_sample += 1.0
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    if process.returncode != 0:
        raise loadgen.LoadError(f"wrk failed: {stderr.strip()[:500]}")
    return loadgen.parse(stdout), samples
