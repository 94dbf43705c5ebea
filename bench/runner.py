"""``make bench``: start everything on loopback, drive each case's targets in turn (A B A B),
measure, print one table, write JSON to bench/results/.

For every measured wrk run: requests/s and latency percentiles from wrk, CPU seconds of the
target's process tree (utime + stime from /proc) divided by the requests it answered, and
its peak RSS (VmHWM). Every target is a separate process, so one case's cache never warms
another's; the targets of a case share the upstream and the machine, and alternate.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import cases as casebook
from bench import loadgen, memory, report, servers
from bench.cookies import COOKIE, DUE_AGE, FRESH_AGE, SECRET, mint, write_pool
from bench.servers import Server
from bench.settings import Settings, parse
from gateway.session import SessionCodec


@dataclass(frozen=True, slots=True)
class Run:
    """One measured wrk run against one target."""

    case: str
    target: str
    round: int
    requests: int
    seconds: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    cpu_seconds: float
    upstream_cpu_seconds: float
    hwm_bytes: int
    rss_bytes: int
    processes: int
    log_bytes: int


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse(argv)
    try:
        loadgen.wrk_path()
    except loadgen.LoadError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    with _workdir(settings.keep) as workdir:
        result = bench(settings, workdir)
    print(report.table(result))
    path = report.write(result, settings.out)
    print(f"\nbench: results written to {path}")
    return 0


@contextlib.contextmanager
def _workdir(keep: bool) -> Iterator[Path]:
    if keep:
        path = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
        print(f"bench: work directory {path} (kept)", file=sys.stderr)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as tmp:
        yield Path(tmp)


def bench(settings: Settings, workdir: Path) -> report.Result:
    now = int(time.time())
    codec = SessionCodec("nextauth-v4", [SECRET])
    pool = write_pool(workdir / "cookies.txt", settings.pool, now=now)
    cases = casebook.build(
        settings.cases,
        fresh=mint(codec, 0, now, FRESH_AGE),
        due=mint(codec, 0, now, DUE_AGE),
        pool=loadgen.CookiePool(pool),
        cookie_name=COOKIE,
    )
    with contextlib.ExitStack() as stack:
        upstream = servers.start_upstream(settings.upstream, workdir)
        stack.callback(upstream.stop)
        fleet = _start_targets(settings, cases, upstream, workdir, stack)
        for case in cases:
            _sanity(case, fleet, pool)
        if settings.warmup:
            _log(f"warming up {sum(len(c.targets) for c in cases)} targets")
            for case in cases:
                for target in case.targets:
                    _drive(case, fleet[target], upstream, settings, settings.warmup, 0)
        runs = [
            _drive(case, fleet[target], upstream, settings, settings.duration, r)
            for r in range(1, settings.rounds + 1)
            for case in cases
            for target in case.targets
        ]
        checked = memory.check(upstream, workdir, settings) if settings.memory_requests else None
    return report.Result(settings, cases, [asdict(run) for run in runs], checked)


def _start_targets(
    settings: Settings,
    cases: list[casebook.Case],
    upstream: Server,
    workdir: Path,
    stack: contextlib.ExitStack,
) -> dict[str, Server]:
    """Every target of every case, each one a process, started one after the other: a port
    is picked only once the servers started before it listen, so two never pick the same."""
    names = list(dict.fromkeys(t for case in cases for t in case.targets))
    _log(f"starting {', '.join(names)}")
    fleet: dict[str, Server] = {}
    for name in names:
        fleet[name] = server = _start_target(name, settings, upstream, workdir)
        stack.callback(server.stop)
    return fleet


def _start_target(name: str, settings: Settings, upstream: Server, workdir: Path) -> Server:
    if name in (casebook.BARE, casebook.NAIVE):
        return servers.start_proxy(name, upstream, workdir)
    workers = {"gateway-w1": 1, "gateway-s1": 1, "gateway-w2": 2}.get(name)
    return servers.start_gateway(
        name,
        upstream,
        workdir,
        workers=workers,
        supervised=name == "gateway-s1",
        cache_entries=settings.cache_entries,
        log=workdir / f"{name}.log",
    )


def _sanity(case: casebook.Case, fleet: dict[str, Server], pool: Path) -> None:
    """One request per target before measuring: numbers for the wrong answer are worthless."""
    cookie = case.cookie
    if case.pool is not None:
        cookie = f"{COOKIE}={pool.read_text().splitlines()[0]}"
    headers = dict(loadgen.BROWSER_HEADERS)
    if cookie:
        headers["Cookie"] = cookie
    for target in case.targets:
        status, answer = servers.probe(fleet[target].url, "/dashboard", headers)
        renewed = any(c.startswith(COOKIE + "=") for c in answer.get_all("Set-Cookie") or ())
        wants_renewal = case.renews and target.startswith("gateway")
        if status != case.status(target) or renewed != wants_renewal:
            raise SystemExit(
                f"bench: case ({case.key}) {target}: got {status}"
                f"{' with' if renewed else ' without'} a session Set-Cookie, "
                f"expected {case.status(target)}"
            )


def _drive(
    case: casebook.Case,
    server: Server,
    upstream: Server,
    settings: Settings,
    seconds: int,
    round_: int,
) -> Run:
    load = case.load(settings.connections, seconds, settings.threads)
    log_before = _size(server.log)
    before, upstream_before = server.usage(), upstream.usage()
    outcome = loadgen.run(server.url, load, cookie_name=COOKIE)
    after, upstream_after = server.usage(), upstream.usage()
    if round_:
        _log(
            f"round {round_} ({case.key}) {server.name:<11} {outcome.rps:9,.0f} req/s "
            f"{(after.cpu_seconds - before.cpu_seconds) / max(1, outcome.requests) * 1e6:7.1f}"
            f" us CPU/req"
        )
    return Run(
        case.key,
        server.name,
        round_,
        outcome.requests,
        outcome.seconds,
        outcome.errors,
        outcome.latency_us,
        after.cpu_seconds - before.cpu_seconds,
        upstream_after.cpu_seconds - upstream_before.cpu_seconds,
        after.hwm_bytes,
        after.rss_bytes,
        after.processes,
        _size(server.log) - log_before,
    )


def _size(path: Path | None) -> int:
    return path.stat().st_size if path is not None and path.exists() else 0


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)
