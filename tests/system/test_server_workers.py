"""``gateway run --workers 2``: two processes on one port (SO_REUSEPORT) under a supervisor
that serves the metrics summed over both, replaces a dead worker, hands reloads to every
worker and drains them all on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.config_files import write_in_place
from tests.support.gateway_process import GatewayProcess, Launch, alive, sample, session_cookie
from tests.support.polling import eventually, until
from tests.support.upstreams import Upstream

REQUESTS = "gateway_requests_total"
APP_200 = {"route": "app", "method": "GET", "code": "200"}


def metrics_dir(gateway: GatewayProcess) -> Path:
    """The supervisor's multiprocess directory (under the TMPDIR the test gave it)."""
    (directory,) = (gateway.output.parent / "tmp").glob("gateway-metrics-*")
    return directory


def requests_by_pid(gateway: GatewayProcess) -> dict[int, float]:
    """Requests each worker counted, read from its own multiprocess file."""
    counts = {}
    for path in metrics_dir(gateway).glob("counter_*.db"):
        families = MultiProcessCollector.merge(  # type: ignore[no-untyped-call]
            [str(path)], accumulate=True
        )
        counts[int(path.stem.partition("_")[2])] = sum(
            s.value for family in families for s in family.samples if s.name == REQUESTS
        )
    return counts


async def serving_pids(gateway: GatewayProcess) -> list[int]:
    status, body = await gateway.readyz()
    return list(body["workers"]["serving"]) if status == 200 else []


async def counted(gateway: GatewayProcess, total: float) -> None:
    async def reached() -> bool:
        return sample(await gateway.scrape(), REQUESTS, **APP_200) == total

    await eventually(reached, f"{REQUESTS} to sum to {total}")


async def test_both_workers_serve_and_their_metrics_are_summed(launch: Launch) -> None:
    gateway = await launch(workers=2)
    pids = await serving_pids(gateway)
    assert len(set(pids)) == 2 and gateway.process.pid not in pids
    sent = 0

    async def both_served() -> bool:
        nonlocal sent
        for _ in range(10):  # each on a new connection: the kernel picks a worker
            assert (await gateway.get("/x"))[0] == 200
            sent += 1
        return set(requests_by_pid(gateway)) == set(pids)

    await eventually(both_served, "a request served by each worker")
    await counted(gateway, sent)
    by_pid = requests_by_pid(gateway)
    assert all(by_pid[pid] > 0 for pid in pids)
    assert sum(by_pid.values()) == sent
    samples = await gateway.scrape()
    # One series each: livesum for in-flight, the supervisor's own registry for the config.
    for name in ("gateway_inflight_requests", "gateway_config_info", "gateway_build_info"):
        assert len([key for key in samples if key[0] == name]) == 1, name
    assert sample(samples, "gateway_inflight_requests") == 0


async def test_a_dead_worker_is_replaced_and_its_counts_stay(launch: Launch) -> None:
    gateway = await launch(workers=2)
    victim, survivor = await serving_pids(gateway)
    for _ in range(20):
        assert (await gateway.get("/x"))[0] == 200
    await counted(gateway, 20)
    os.kill(victim, signal.SIGKILL)

    async def replaced() -> list[int]:
        pids = await serving_pids(gateway)
        return pids if len(pids) == 2 and victim not in pids else []

    pids = await eventually(replaced, "a new worker in place of the killed one")
    assert survivor in pids
    for _ in range(5):
        assert (await gateway.get("/x"))[0] == 200
    await counted(gateway, 25)  # the dead worker's 20-odd requests still count
    assert f"(pid {victim}) exited with signal 9" in gateway.log()


async def test_a_reload_reaches_every_worker_and_counts_once(launch: Launch) -> None:
    gateway = await launch(workers=2)
    cookie = {"Cookie": session_cookie(7200)}
    write_in_place(gateway.config, gateway.render(max_age="1h"))
    gateway.send(signal.SIGHUP)

    async def reloaded() -> bool:
        return sample(await gateway.scrape(), "gateway_config_reloads_total", result="success") == 1

    await eventually(reloaded, "the reload to be counted")
    statuses = [(await gateway.get("/api/x", headers=cookie))[0] for _ in range(20)]
    assert statuses == [401] * 20
    assert set(requests_by_pid(gateway)) == set(await serving_pids(gateway))
    samples = await gateway.scrape()
    assert sample(samples, "gateway_config_reloads_total", result="success") == 1


async def test_sigterm_drains_every_worker_then_exits_0(launch: Launch, upstream: Upstream) -> None:
    gateway = await launch(workers=2)
    pids = await serving_pids(gateway)
    directory = metrics_dir(gateway)
    request = asyncio.create_task(gateway.get("/stall"))
    await until(lambda: "/stall" in upstream.paths, "the upstream to receive /stall")
    gateway.send(signal.SIGTERM)

    async def draining() -> bool:
        status, body = await gateway.readyz()
        return status == 503 and body["status"] == "draining"

    await eventually(draining, "/readyz to answer 503 draining")
    assert not request.done()
    upstream.release.set()
    assert await request == (200, '{"path": "/stall"}')
    assert await gateway.exited() == 0
    assert not any(alive(pid) for pid in pids)
    assert not directory.exists()


async def test_workers_stop_when_the_supervisor_is_killed(launch: Launch) -> None:
    gateway = await launch(workers=2)
    pids = await serving_pids(gateway)
    gateway.process.kill()
    assert await gateway.exited() == -signal.SIGKILL
    await until(lambda: not any(alive(pid) for pid in pids), "the orphaned workers to stop")
