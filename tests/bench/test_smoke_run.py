"""A whole benchmark run, one second per measurement, so the harness does not rot: wrk
drives every case's targets, the memory check sends its new cookies, and the results are
written. wrk must be installed (`make bench` installs it): without it this fails, loudly."""

from __future__ import annotations

import json
from pathlib import Path

from bench import loadgen, report, runner, settings


def test_a_short_run_of_every_case(tmp_path: Path) -> None:
    loadgen.wrk_path()  # LoadError, with how to install it, when wrk is missing
    chosen = settings.parse(
        [
            "--duration",
            "1",
            "--rounds",
            "1",
            "--warmup",
            "0",
            "--connections",
            "4",
            "--cache-entries",
            "50",
            "--pool",
            "120",
            "--memory-requests",
            "400",
            "--out",
            str(tmp_path),
        ]
    )
    outcome = runner.bench(chosen, tmp_path)
    rows = report.rows(outcome)
    assert {(r.case, r.target) for r in rows} == {
        (case.key, target) for case in outcome.cases for target in case.targets
    }
    assert all(r.rps > 0 and r.cpu_us > 0 and r.errors == 0 for r in rows)
    assert next(r for r in rows if r.target == "gateway-w2").processes == 3  # supervisor + 2
    memory = outcome.memory
    assert memory is not None and memory["errors"] == 0
    assert memory["requests"] > 300 and memory["rss_after_bytes"] > 0
    document = json.loads(report.write(outcome, tmp_path).read_text())
    assert [t["target"][:2] for t in document["targets"]] == ["1.", "1.", "2.", "3.", "4.", "5."]
