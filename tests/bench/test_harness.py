"""The benchmark harness (bench/) without a load generator: settings, /proc readings, wrk's
command line and summary, the report's arithmetic, and every case's servers answering as the
case expects (real processes on 127.0.0.1). No timing is asserted anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench import cases as casebook
from bench import loadgen, procstat, report, runner, servers, settings, stages
from bench.cookies import COOKIE, DUE_AGE, FRESH_AGE, SECRET, mint, write_pool
from gateway.session.token import SessionCodec

SUMMARY = (
    'BENCH_JSON {"requests": 1200, "duration_us": 2000000, "bytes": 9, "errors": '
    '{"connect": 0, "read": 1, "write": 0, "status": 2, "timeout": 0}, "latency_us": '
    '{"p50": 900, "p90": 1500, "p99": 4000, "p999": 8000, "max": 9000, "mean": 1000.5}}'
)


def test_options_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_DURATION", "7")
    monkeypatch.setenv("BENCH_CASES", "d,a")
    chosen = settings.parse([])
    assert (chosen.duration, chosen.cases) == (7, "ad")
    assert settings.parse(["--duration", "3"]).duration == 3


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["--pool", "100", "--cache-entries", "100"], id="pool-below-twice-the-cache"),
        pytest.param(["--cases", "xyz"], id="no-known-case"),
        pytest.param(["--duration", "0"], id="zero-duration"),
        pytest.param(["--warmup", "-1"], id="negative-warmup"),
    ],
)
def test_bad_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        settings.parse(argv)
    assert stopped.value.code == 2


def test_proc_readings_cover_the_process_tree() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        reading = procstat.usage(os.getpid())
        assert child.pid in procstat.tree(os.getpid())
        assert reading.processes >= 2
        assert reading.cpu_seconds > 0 and reading.hwm_bytes >= reading.rss_bytes / 2 > 0
    finally:
        child.kill()
        child.wait()


def test_cpu_time_grows_with_work() -> None:
    before = procstat.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert procstat.cpu_seconds(os.getpid()) > before


def test_wrk_summary_is_parsed() -> None:
    outcome = loadgen.parse("Running 2s test\n" + SUMMARY + "\n")
    assert (outcome.requests, outcome.seconds, outcome.rps) == (1200, 2.0, 600.0)
    assert outcome.failed == 3 and outcome.latency_us["p99"] == 4000


def test_a_wrk_output_without_summary_is_an_error() -> None:
    with pytest.raises(loadgen.LoadError, match="no BENCH_JSON"):
        loadgen.parse("Running 2s test\n")


def test_wrk_command_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loadgen, "wrk_path", lambda: "/usr/bin/wrk")
    pool = loadgen.CookiePool(
        tmp_path / "c.txt", first=5, count=10, once=True, done=tmp_path / "done"
    )
    load = loadgen.Load(8, 3, 2, cookie="a=b", pool=pool)
    argv = loadgen.command("http://127.0.0.1:1/", load)
    assert argv[0] == "/usr/bin/wrk" and argv[-1] == "http://127.0.0.1:1/dashboard?tab=activity"
    assert argv[argv.index("-c") : argv.index("-c") + 2] == ["-c", "8"]
    assert "Cookie: a=b" in argv and str(loadgen.SCRIPT) in argv
    env = loadgen.environment(load, COOKIE)
    assert (
        env["BENCH_COOKIES_FIRST"],
        env["BENCH_COOKIES_COUNT"],
        env["BENCH_COOKIES_ONCE"],
        env["BENCH_WRK_THREADS"],
        env["BENCH_DONE"],
    ) == ("5", "10", "1", "2", str(tmp_path / "done"))


def run(case: str, target: str, requests: int, cpu: float, processes: int = 1) -> dict[str, Any]:
    return {
        "case": case,
        "target": target,
        "round": 1,
        "requests": requests,
        "seconds": 1.0,
        "errors": {"status": 0},
        "latency_us": {"p50": 1000.0, "p99": 3000.0},
        "cpu_seconds": cpu,
        "upstream_cpu_seconds": 0.0,
        "hwm_bytes": 50 << 20,
        "rss_bytes": 40 << 20,
        "processes": processes,
        "log_bytes": 0,
    }


def result(memory_growth: int) -> report.Result:
    chosen = settings.parse(["--cases", "abe"])
    built = casebook.build(
        "abe", fresh="f", due="d", pool=loadgen.CookiePool(Path("p")), cookie_name=COOKIE
    )
    runs = [
        run("a", "bare", 1000, 0.100),
        run("a", "naive", 400, 0.100),
        run("a", "gateway-a", 950, 0.1045),  # 0.95x, +10 us, 2.4x naive: all met
        run("b", "bare", 1000, 0.100),
        run("b", "naive", 400, 0.100),
        run("b", "gateway-b", 500, 0.100),  # 0.5x: not met
        run("e", "gateway-w1", 1000, 0.100),
        run("e", "gateway-s1", 1000, 0.102, 2),
        run("e", "gateway-w2", 1500, 0.180, 3),
    ]
    memory = {
        "requests": 1000,
        "growth_bytes": memory_growth,
        "met": memory_growth <= 10 << 20,
        "rss_filled_bytes": 50 << 20,
        "rss_after_bytes": (50 << 20) + memory_growth,
        "cache_entries": 10,
        "errors": 0,
    }
    return report.Result(chosen, built, runs, memory)


def test_report_ratios_and_targets() -> None:
    found = report.ratios(report.rows(result(0)))
    assert found["a"]["rps_vs_bare"] == pytest.approx(0.95)
    assert found["a"]["cpu_us_over_bare"] == pytest.approx(10.0)
    assert found["e"]["cpu_w2_vs_w1"] == pytest.approx(1.2)
    assert found["e"]["cpu_s1_vs_w1"] == pytest.approx(1.02)
    met = {t["target"].split(":")[0][:6]: t["met"] for t in report.targets(found, None)}
    assert met == {"1. (a)": True, "2. (a)": True, "3. (b)": False, "4. (e)": False}


@pytest.mark.parametrize(
    ("growth", "met"), [(1 << 20, True), (11 << 20, False)], ids=["1MB", "11MB"]
)
def test_memory_target(growth: int, met: bool) -> None:
    outcome = result(growth)
    last = report.targets(report.ratios(report.rows(outcome)), outcome.memory)[-1]
    assert last["target"].startswith("5.") and last["met"] is met
    assert ("NOT MET] 5." in report.table(outcome)) is not met


def test_the_document_is_json(tmp_path: Path) -> None:
    path = report.write(result(0), tmp_path)
    text = path.read_text()
    assert path.name.startswith("bench-") and '"gateway-w2"' in text and '"targets"' in text


def test_every_case_answers_as_it_expects(tmp_path: Path) -> None:
    """What the sanity probe checks before any measurement: 200s, the renewal's Set-Cookie in
    (c), the 302s of (d), for every target of every case."""
    now = int(time.time())
    codec = SessionCodec("nextauth-v4", [SECRET])
    pool = write_pool(tmp_path / "cookies.txt", 3, now=now)
    built = casebook.build(
        "abcd",
        fresh=mint(codec, 0, now, FRESH_AGE),
        due=mint(codec, 1, now, DUE_AGE),
        pool=loadgen.CookiePool(pool),
        cookie_name=COOKIE,
    )
    started: list[servers.Server] = []
    try:
        upstream = servers.start_upstream("aiohttp", tmp_path)
        started.append(upstream)
        fleet = {
            "bare": servers.start_proxy("bare", upstream, tmp_path, wait=False),
            "naive": servers.start_proxy("naive", upstream, tmp_path, wait=False),
        }
        for key in "abcd":
            fleet[f"gateway-{key}"] = servers.start_gateway(
                f"gateway-{key}", upstream, tmp_path, cache_entries=10, wait=False
            )
        started += fleet.values()
        servers.ready(*fleet.values())
        for case in built:
            runner._sanity(case, fleet, pool)  # raises SystemExit on a wrong answer
    finally:
        for server in started:
            server.stop()
    assert all(server.process.returncode is not None for server in started)


def test_the_workers_case_starts_its_three_gateways(tmp_path: Path) -> None:
    """(e): one process, one worker under the supervisor, two workers, all answering."""
    now = int(time.time())
    (case,) = casebook.build(
        "e",
        fresh=mint(SessionCodec("nextauth-v4", [SECRET]), 0, now, FRESH_AGE),
        due="",
        pool=loadgen.CookiePool(tmp_path / "none"),
        cookie_name=COOKIE,
    )
    upstream = servers.start_upstream("aiohttp", tmp_path)
    fleet = {
        "gateway-w1": servers.start_gateway(
            "gateway-w1", upstream, tmp_path, cache_entries=10, workers=1, wait=False
        ),
        "gateway-s1": servers.start_gateway(
            "gateway-s1", upstream, tmp_path, cache_entries=10, supervised=True, wait=False
        ),
        "gateway-w2": servers.start_gateway(
            "gateway-w2", upstream, tmp_path, cache_entries=10, workers=2, wait=False
        ),
    }
    try:
        servers.ready(upstream, *fleet.values())
        runner._sanity(case, fleet, tmp_path / "none")
        assert [fleet[t].usage().processes for t in case.targets] == [1, 2, 3]
    finally:
        for server in (*fleet.values(), upstream):
            server.stop()


def test_every_stage_of_the_request_path_can_be_measured() -> None:
    results = stages.measure(number=3, repeat=1)
    assert [name for name, _ in results][:2] == ["client_view", "request id"]
    assert len(results) >= 15 and all(micros > 0 for _, micros in results)
