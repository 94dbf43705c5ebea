"""The soak's report: one JSON document (bench/results/soak-<UTC time>.json), its text form,
and the verdict. The run fails on any 5xx, on RSS growing more than the limit between the end
of warm-up and the end, on a wrong answer (a status outside a kind's expected set), on any
client-side error, and when the gateway is gone by the end.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.soak_drive import Outcome
from bench.soak_traffic import KINDS

MB = 1024 * 1024


def document(
    settings: Mapping[str, Any], outcome: Outcome, *, limit_bytes: int, gateway_exit: int | None
) -> dict[str, Any]:
    tally, samples = outcome.tally, outcome.samples
    statuses: dict[str, int] = {}
    for kind in KINDS:
        for status, count in tally.statuses[kind].items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    total = sum(tally.requests.values())
    doc: dict[str, Any] = {
        "format": 1,
        "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "settings": dict(settings),
        "duration_seconds": round(outcome.seconds, 3),
        "requests": {kind: tally.requests[kind] for kind in KINDS},
        "requests_total": total,
        "requests_per_second": round(total / outcome.seconds, 1),
        "errors": {kind: dict(tally.errors[kind]) for kind in KINDS if tally.errors[kind]},
        "errors_total": sum(sum(c.values()) for c in tally.errors.values()),
        "wrong_answers": {kind: tally.wrong[kind] for kind in KINDS if tally.wrong[kind]},
        "wrong_answers_total": sum(tally.wrong.values()),
        "statuses": dict(sorted(statuses.items())),
        "statuses_by_kind": {
            kind: {str(s): n for s, n in sorted(tally.statuses[kind].items())} for kind in KINDS
        },
        "renewed": tally.renewed,
        "server_errors": sum(n for s, n in statuses.items() if s.startswith("5")),
        "rss": {
            "start_bytes": samples[0].rss_bytes,
            "peak_bytes": max(s.rss_bytes for s in samples),
            "end_bytes": samples[-1].rss_bytes,
            "growth_bytes": samples[-1].rss_bytes - samples[0].rss_bytes,
            "limit_bytes": limit_bytes,
            "hwm_bytes": samples[-1].hwm_bytes,
        },
        "fds": {
            "idle_before": outcome.before.fds,
            "start": samples[0].fds,
            "end": samples[-1].fds,
            "idle_after": outcome.after.fds,
        },
        "samples": [asdict(s) for s in [outcome.before, *samples, outcome.after]],
        "gateway_exit": gateway_exit,
    }
    doc["problems"] = problems(doc)
    doc["ok"] = not doc["problems"]
    return doc


def problems(doc: Mapping[str, Any]) -> list[str]:
    found = []
    if doc["server_errors"]:
        found.append(f"{doc['server_errors']} responses were 5xx")
    rss = doc["rss"]
    if rss["growth_bytes"] > rss["limit_bytes"]:
        found.append(
            f"RSS grew by {rss['growth_bytes'] / MB:.1f} MB after warm-up "
            f"(limit {rss['limit_bytes'] / MB:.1f} MB)"
        )
    if doc["wrong_answers_total"]:
        found.append(f"{doc['wrong_answers_total']} wrong answers: {doc['wrong_answers']}")
    if doc["errors_total"]:
        found.append(f"{doc['errors_total']} client-side errors: {doc['errors']}")
    if doc["gateway_exit"] is not None:
        found.append(f"the gateway exited with {doc['gateway_exit']} during the run")
    return found


def text(doc: Mapping[str, Any]) -> str:
    s, rss, fds = doc["settings"], doc["rss"], doc["fds"]
    lines = [
        f"soak: {doc['duration_seconds']:.1f} s ({s['warmup']:g} s warm-up), "
        f"{s['concurrency']} clients, decode cache {s['cache_entries']} entries, "
        f"pool of {s['pool']} cookies",
        "",
        f"{'kind':<12}{'requests':>10}{'errors':>8}{'wrong':>7}  statuses",
    ]
    for kind in KINDS:
        by_status = doc["statuses_by_kind"][kind]
        lines.append(
            f"{kind:<12}{doc['requests'][kind]:>10,}"
            f"{sum(doc['errors'].get(kind, {}).values()):>8}"
            f"{doc['wrong_answers'].get(kind, 0):>7}  "
            + " ".join(f"{status}x{n}" for status, n in by_status.items())
        )
    lines += [
        f"{'total':<12}{doc['requests_total']:>10,}{doc['errors_total']:>8}"
        f"{doc['wrong_answers_total']:>7}  "
        + " ".join(f"{status}x{n}" for status, n in doc["statuses"].items()),
        "",
        f"requests/s: {doc['requests_per_second']:,.0f}; renewed: {doc['renewed']:,}; "
        f"5xx: {doc['server_errors']}",
        f"RSS: start {rss['start_bytes'] / MB:.1f} MB (after warm-up), peak "
        f"{rss['peak_bytes'] / MB:.1f} MB, end {rss['end_bytes'] / MB:.1f} MB: "
        f"{rss['growth_bytes'] / MB:+.1f} MB (limit +{rss['limit_bytes'] / MB:g} MB); "
        f"VmHWM {rss['hwm_bytes'] / MB:.1f} MB",
        f"open fds: start {fds['start']}, end {fds['end']} "
        f"(idle: {fds['idle_before']} before the load, {fds['idle_after']} after)",
        "",
        "verdict: " + ("ok" if doc["ok"] else "FAILED: " + "; ".join(doc["problems"])),
    ]
    return "\n".join(lines)


def write(doc: Mapping[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"soak-{stamp}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path
