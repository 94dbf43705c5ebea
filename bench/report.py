"""Turn the runs into one table, the ratios, the issue's targets, and a JSON file.

Aggregates over rounds: requests/s = all requests / all seconds; CPU per request = all CPU
seconds / all requests; p50 and p99 = the median of the rounds' values (wrk's histograms
cannot be merged after the fact); peak RSS = the highest VmHWM seen.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import subprocess
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.cases import BARE, NAIVE, Case, gateway
from bench.settings import Settings

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Result:
    settings: Settings
    cases: list[Case]
    runs: list[dict[str, Any]]
    memory: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Row:
    case: str
    target: str
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float  # CPU time of the target's processes per request
    upstream_cpu_us: float
    peak_rss_mb: float
    errors: int
    processes: int
    log_bytes_per_request: float


def rows(result: Result) -> list[Row]:
    out = []
    for case in result.cases:
        for target in case.targets:
            runs = [
                r
                for r in result.runs
                if r["case"] == case.key and r["target"] == target and r["round"] > 0
            ]
            if runs:  # a target with no measured run has no row
                out.append(_row(case.key, target, runs))
    return out


def _row(case: str, target: str, runs: list[dict[str, Any]]) -> Row:
    requests = sum(r["requests"] for r in runs) or 1
    return Row(
        case,
        target,
        requests / sum(r["seconds"] for r in runs),
        statistics.median(r["latency_us"]["p50"] for r in runs) / 1000,
        statistics.median(r["latency_us"]["p99"] for r in runs) / 1000,
        sum(r["cpu_seconds"] for r in runs) / requests * 1e6,
        sum(r["upstream_cpu_seconds"] for r in runs) / requests * 1e6,
        max(r["hwm_bytes"] for r in runs) / MB,
        sum(sum(r["errors"].values()) for r in runs),
        max(r["processes"] for r in runs),
        sum(r["log_bytes"] for r in runs) / requests,
    )


def ratios(table: list[Row]) -> dict[str, dict[str, float]]:
    """Per case: gateway / bare and gateway / naive throughput, and the CPU difference."""
    by = {(row.case, row.target): row for row in table}
    out: dict[str, dict[str, float]] = {}
    for case in "abcd":
        gw = by.get((case, gateway(case)))
        bare, naive = by.get((case, BARE)), by.get((case, NAIVE))
        if gw is None or bare is None or naive is None:
            continue
        out[case] = {
            "rps_vs_bare": gw.rps / bare.rps,
            "rps_vs_naive": gw.rps / naive.rps,
            "cpu_us_over_bare": gw.cpu_us - bare.cpu_us,
            "cpu_vs_bare": gw.cpu_us / bare.cpu_us,
        }
    one, two = by.get(("e", gateway("w1"))), by.get(("e", gateway("w2")))
    supervised = by.get(("e", gateway("s1")))
    if one is not None and two is not None:
        out["e"] = {
            "rps_w2_vs_w1": two.rps / one.rps,
            "cpu_w2_vs_w1": two.cpu_us / one.cpu_us,
            "processes_w1": one.processes,
            "processes_w2": two.processes,
        }
        if supervised is not None:
            out["e"]["cpu_s1_vs_w1"] = supervised.cpu_us / one.cpu_us
    return out


def targets(
    found: dict[str, dict[str, float]],
    memory: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """The issue's targets that this run measured: (name, value, limit, met)."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float, limit: float, met: bool, unit: str = "x") -> None:
        out.append({"target": name, "value": value, "limit": limit, "met": met, "unit": unit})

    if "a" in found:
        a = found["a"]
        add("1. (a) gateway/bare req/s >= 0.90", a["rps_vs_bare"], 0.90, a["rps_vs_bare"] >= 0.9)
        add(
            "1. (a) gateway CPU over bare <= 15 us/req",
            a["cpu_us_over_bare"],
            15.0,
            a["cpu_us_over_bare"] <= 15.0,
            "us",
        )
        add("2. (a) gateway/naive req/s >= 2.0", a["rps_vs_naive"], 2.0, a["rps_vs_naive"] >= 2.0)
    if "b" in found:
        b = found["b"]
        add("3. (b) gateway/bare req/s >= 0.6", b["rps_vs_bare"], 0.6, b["rps_vs_bare"] >= 0.6)
    if "e" in found:
        e = found["e"]
        scaled = e["processes_w2"] > e["processes_w1"]
        add(
            "4. (e) CPU/req with 2 workers within 10% of 1"
            + ("" if scaled else " (NOT MEASURED: --workers 2 ran one process)"),
            e["cpu_w2_vs_w1"],
            1.10,
            scaled and e["cpu_w2_vs_w1"] <= 1.10,
        )
    if memory is not None:
        add(
            f"5. RSS growth over {memory['requests']:,} new-cookie requests <= 10 MB",
            memory["growth_bytes"] / MB,
            10.0,
            bool(memory["met"]),
            "MB",
        )
    return out


def machine(settings: Settings) -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.partition(":")[2].strip()
            break
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiohttp": version("aiohttp"),
        "cryptography": version("cryptography"),
        "jwcrypto": version("jwcrypto"),
        "wrk": (wrk.stdout or wrk.stderr).split("Copyright")[0].strip(),
        "upstream": settings.upstream,
    }


def table(result: Result) -> str:
    data = rows(result)
    s = result.settings
    lines = [
        f"wrk -t{s.threads} -c{s.connections}, {s.duration:g} s x {s.rounds} rounds per "
        f"target, alternating; upstream: {s.upstream}; decode cache {s.cache_entries}, "
        f"pool {s.pool} cookies",
        "",
        f"{'case':<36}{'target':<12}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'CPU us/req':>11}{'peak RSS MB':>12}{'errors':>8}",
    ]
    titles = {case.key: f"({case.key}) {case.title}" for case in result.cases}
    for row in data:
        lines.append(
            f"{titles[row.case]:<36}{row.target:<12}{row.rps:>9,.0f}{row.p50_ms:>8.2f}"
            f"{row.p99_ms:>8.2f}{row.cpu_us:>11.1f}{row.peak_rss_mb:>12.1f}"
            f"{row.errors:>8}"
        )
    found = ratios(data)
    lines += ["", "ratios:"]
    for case, r in found.items():
        if case == "e":
            lines.append(
                f"  (e) 2 workers / 1: req/s {r['rps_w2_vs_w1']:.2f}x, CPU/req "
                f"{r['cpu_w2_vs_w1']:.2f}x ({r['processes_w2']:.0f} vs "
                f"{r['processes_w1']:.0f} processes)"
            )
            if "cpu_s1_vs_w1" in r:
                lines.append(
                    f"  (e) 1 supervised worker (multiprocess metrics) / 1 process: "
                    f"CPU/req {r['cpu_s1_vs_w1']:.2f}x"
                )
        else:
            lines.append(
                f"  ({case}) gateway/bare req/s {r['rps_vs_bare']:.2f}x, "
                f"CPU {r['cpu_us_over_bare']:+.1f} us/req ({r['cpu_vs_bare']:.2f}x); "
                f"gateway/naive req/s {r['rps_vs_naive']:.2f}x"
            )
    if result.memory is not None:
        m = result.memory
        lines += [
            "",
            f"memory: RSS {m['rss_filled_bytes'] / MB:.1f} MB with the cache full "
            f"({m['cache_entries']} entries), {m['rss_after_bytes'] / MB:.1f} MB after "
            f"{m['requests']:,} more requests with new cookies: "
            f"{m['growth_bytes'] / MB:+.1f} MB ({m['errors']} errors)",
        ]
    lines += ["", "targets:"]
    for t in targets(found, result.memory):
        lines.append(
            f"  [{'met' if t['met'] else 'NOT MET'}] {t['target']}: {t['value']:.2f} {t['unit']}"
        )
    return "\n".join(lines)


def document(result: Result) -> dict[str, Any]:
    data = rows(result)
    found = ratios(data)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result.settings).items()}
    return {
        "format": 1,
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(result.settings),
        "settings": settings,
        "rows": [asdict(row) for row in data],
        "ratios": found,
        "targets": targets(found, result.memory),
        "memory": result.memory,
        "runs": result.runs,
    }


def write(result: Result, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"bench-{stamp}.json"
    path.write_text(json.dumps(document(result), indent=2) + "\n")
    return path
