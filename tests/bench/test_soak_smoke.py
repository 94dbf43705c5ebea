"""A three-second soak (bench/soak.py), so the script does not rot: run as ``make soak`` runs
it, in its own process against a real gateway and upstream on 127.0.0.1, with a cache small
enough to evict. No timing or memory figure is asserted: only that it reports them, every
kind was sent and answered as it should be, and nothing was a 5xx."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.servers import ROOT
from bench.soak_traffic import KINDS

ARGS = [
    "--seconds",
    "3",
    "--warmup",
    "1",
    "--concurrency",
    "4",
    "--cache-entries",
    "50",
    "--pool",
    "120",
]


def test_a_short_soak_reports_every_field_and_no_5xx(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.soak", *ARGS, "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    [written] = tmp_path.glob("soak-*.json")
    assert str(written) in run.stdout and "verdict: ok" in run.stdout
    doc = json.loads(written.read_text())
    assert doc["server_errors"] == 0 and doc["ok"] is True and doc["problems"] == []
    assert doc["errors_total"] == 0 and doc["wrong_answers_total"] == 0
    assert all(doc["requests"][kind] > 0 for kind in KINDS)
    assert doc["requests_total"] == sum(doc["requests"].values())
    assert doc["renewed"] == doc["requests"]["renewing"]
    assert set(doc["statuses_by_kind"]["websocket"]) == {"101"}
    assert set(doc["statuses_by_kind"]["garbage"]) == {"302", "401"}
    assert doc["duration_seconds"] >= 3
    assert set(doc["rss"]) >= {"start_bytes", "peak_bytes", "end_bytes", "growth_bytes"}
    assert doc["rss"]["start_bytes"] > 0 and doc["rss"]["peak_bytes"] >= doc["rss"]["end_bytes"]
    assert set(doc["fds"]) >= {"start", "end"} and doc["fds"]["start"] > 0
