"""Hot reload of a running gateway process: SIGHUP and file changes (atomic rename, in-place
write, Kubernetes ConfigMap symlink swap) change the policy for the next request; a broken
file changes nothing while requests keep being answered."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.support.config_files import replace_atomically, swap_configmap, write_in_place
from tests.support.gateway_process import GatewayProcess, Launch, sample, session_cookie, sha12
from tests.support.polling import eventually

TWO_HOURS = 7200
RELOADS = "gateway_config_reloads_total"


async def reloads(gateway: GatewayProcess, result: str) -> float:
    return sample(await gateway.scrape(), RELOADS, result=result)


async def reloaded(gateway: GatewayProcess, result: str, count: float) -> None:
    async def reached() -> bool:
        return await reloads(gateway, result) >= count

    await eventually(reached, f'{RELOADS}{{result="{result}"}} to reach {count}')


async def api_status(gateway: GatewayProcess) -> int:
    """A request by a session written two hours ago: allowed under max_age 1d, expired
    under 1h."""
    status, _ = await gateway.get("/api/x", headers={"Cookie": session_cookie(TWO_HOURS)})
    return status


WRITERS: dict[str, tuple[str, Callable[[Path, str], None]]] = {
    "atomic-rename": ("file", replace_atomically),
    "in-place-write": ("file", write_in_place),
    "configmap-symlink-swap": ("configmap", swap_configmap),
}


@pytest.mark.parametrize("how", list(WRITERS))
async def test_a_changed_file_changes_the_policy_on_the_next_request(
    launch: Launch, how: str
) -> None:
    layout, write = WRITERS[how]
    gateway = await launch(layout=layout)
    assert await api_status(gateway) == 200
    before = await gateway.scrape()
    text = gateway.render(max_age="1h")
    write(gateway.config, text)
    await reloaded(gateway, "success", 1)
    status, body = await gateway.get("/api/x", headers={"Cookie": session_cookie(TWO_HOURS)})
    assert (status, json.loads(body)) == (401, {"error": "session_expired"})
    after = await gateway.scrape()
    assert sample(after, RELOADS, result="failure") == 0
    assert sample(after, "gateway_config_info", sha256=sha12(text)) == 1
    stamp = "gateway_config_last_reload_success_timestamp_seconds"
    assert sample(after, stamp) > sample(before, stamp)


async def test_sighup_reloads_a_changed_file_once(launch: Launch) -> None:
    gateway = await launch()
    assert await api_status(gateway) == 200
    text = gateway.render(max_age="1h")
    write_in_place(gateway.config, text)
    gateway.send(signal.SIGHUP)  # well before the file watcher would notice
    await reloaded(gateway, "success", 1)
    assert await api_status(gateway) == 401
    samples = await gateway.scrape()
    assert sample(samples, RELOADS, result="success") == 1
    assert sample(samples, "gateway_config_info", sha256=sha12(text)) == 1
    assert [
        line["message"] for line in gateway.log_lines() if line["logger"] == "gateway.reload"
    ] == [f"{gateway.config}: config reloaded (sha256 {sha12(text)})"]


async def test_sighup_on_an_unchanged_file_confirms_it(launch: Launch) -> None:
    gateway = await launch()
    gateway.send(signal.SIGHUP)
    await reloaded(gateway, "success", 1)
    samples = await gateway.scrape()
    assert sample(samples, "gateway_config_info", sha256=sha12(gateway.render())) == 1
    assert await api_status(gateway) == 200


async def test_a_file_rewritten_with_the_same_bytes_is_not_a_reload(launch: Launch) -> None:
    gateway = await launch(args=("--debug",))
    replace_atomically(gateway.config, gateway.render())  # new inode, same bytes

    async def noticed() -> bool:
        return any(
            line["message"].endswith(f"unchanged (sha256 {sha12(gateway.render())})")
            for line in gateway.log_lines()
            if line["logger"] == "gateway.reload"
        )

    await eventually(noticed, "the watcher to notice the rewrite")
    samples = await gateway.scrape()
    assert (
        sample(samples, RELOADS, result="success"),
        sample(samples, RELOADS, result="failure"),
    ) == (0, 0)


async def test_a_broken_file_keeps_the_old_policy_while_requests_continue(launch: Launch) -> None:
    gateway = await launch()
    statuses: list[int] = []
    errors: list[str] = []
    stop = asyncio.Event()

    async def keep_asking() -> None:
        while not stop.is_set():
            try:
                statuses.append(await api_status(gateway))
            except aiohttp.ClientError as exc:
                errors.append(repr(exc))

    async def answered(count: int) -> bool:
        return len(statuses) >= count

    client = asyncio.create_task(keep_asking())
    await eventually(lambda: answered(5), "the first answers")
    # Valid YAML whose policy would expire the client's session, with one rule broken: a
    # partly applied file would show up as 401s.
    replace_atomically(gateway.config, gateway.render(max_age="1h, update_age: 2h"))
    await reloaded(gateway, "failure", 1)
    seen = len(statuses)
    gateway.send(signal.SIGHUP)  # a second attempt: refused the same way
    await reloaded(gateway, "failure", 2)
    await eventually(lambda: answered(seen + 20), "more answers after the failed reloads")
    stop.set()
    await client
    assert errors == []
    assert set(statuses) == {200}
    assert await reloads(gateway, "success") == 0
    problem = re.compile(
        rf"^{re.escape(str(gateway.config))}:\d+: policies\.general\."
        r"update_age: 2h must be shorter than max_age \(1h\)"
    )
    messages = [line["message"] for line in gateway.log_lines() if line["level"] == "error"]
    assert sum(bool(problem.match(message)) for message in messages) == 2
    assert "Traceback" not in gateway.log()


async def test_the_watcher_applies_a_fixed_file_after_a_broken_one(launch: Launch) -> None:
    gateway = await launch()
    replace_atomically(gateway.config, "policies: [\n")
    await reloaded(gateway, "failure", 1)
    replace_atomically(gateway.config, gateway.render(max_age="1h"))
    await reloaded(gateway, "success", 1)
    assert await api_status(gateway) == 401


async def test_a_new_listen_address_needs_a_restart(launch: Launch) -> None:
    gateway = await launch()
    moved = gateway.render(max_age="1h").replace(f":{gateway.port}\n", ":1\n", 1)
    replace_atomically(gateway.config, moved)
    await reloaded(gateway, "success", 1)
    assert await api_status(gateway) == 401  # the rest of the file is in force
    warnings = [line["message"] for line in gateway.log_lines() if line["level"] == "warning"]
    assert warnings == [
        f"{gateway.config}: listen: changing 127.0.0.1:{gateway.port} to "
        f"127.0.0.1:1 needs a restart; keeping 127.0.0.1:{gateway.port}"
    ]
