"""gateway.serve.reload: change detection by stat, what a reload keeps, and the reload itself."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.config import DEMO_SECRET, GatewayConfig, load_config, load_config_text
from gateway.observe.metrics import ConfigMetrics
from gateway.serve.reload import Reloader, file_signature, keep_bound_settings

SECRET = "unit-test-secret-0123456789abcdef-0123456789"


def text(
    max_age: str = "1d",
    listen: str = "127.0.0.1:8080",
    metrics_listen: str = "127.0.0.1:9091",
    header: int = 32768,
    client_header: str = "10s",
) -> str:
    return f"""\
listen: {listen}
metrics_listen: {metrics_listen}
upstream: http://127.0.0.1:3000
session: {{flavor: nextauth-v4, secrets: ["{SECRET}"]}}
policies:
  general: {{max_age: {max_age}}}
default_policy: general
routes:
  - {{name: app, path: /}}
limits: {{max_header_bytes: {header}}}
timeouts: {{client_header: {client_header}}}
"""


def config(body: str) -> GatewayConfig:
    return load_config_text(body, "t.yaml", env={})


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """What gateway.serve.reload logged (collected on the logger itself: configure_logging, if a
    test ran it, stops propagation to the root)."""
    logger, handler = logging.getLogger("gateway.reload"), Collect()
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


# --- file_signature ---------------------------------------------------------------------


def rename_over(path: Path, body: str) -> None:
    fresh = path.with_name("fresh")
    fresh.write_text(body)
    os.replace(fresh, path)


def write_same_size(path: Path, body: str) -> None:
    with path.open("r+") as file:
        file.write(body.replace("1d", "2d"))


def swap_data_link(path: Path, body: str) -> None:
    mount = path.parent
    version = mount / "..v2"
    version.mkdir()
    (version / "gateway.yaml").write_text(body)
    (mount / "..tmp").symlink_to("..v2")
    os.replace(mount / "..tmp", mount / "..data")


def configmap(tmp_path: Path) -> Path:
    (tmp_path / "..v1").mkdir()
    (tmp_path / "..v1" / "gateway.yaml").write_text(text())
    (tmp_path / "..data").symlink_to("..v1")
    (tmp_path / "gateway.yaml").symlink_to("..data/gateway.yaml")
    return tmp_path / "gateway.yaml"


def plain(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(text())
    return path


@pytest.mark.parametrize(
    ("layout", "change"),
    [
        pytest.param(plain, rename_over, id="editor-atomic-rename"),
        pytest.param(plain, write_same_size, id="in-place-same-size"),
        pytest.param(configmap, swap_data_link, id="configmap-data-swap"),
        pytest.param(configmap, rename_over, id="configmap-link-replaced"),
    ],
)
def test_every_way_of_replacing_the_file_changes_its_signature(
    tmp_path: Path, layout: Callable[[Path], Path], change: Callable[[Path, str], None]
) -> None:
    path = layout(tmp_path)
    before = file_signature(str(path))
    change(path, text())
    assert before is not None
    assert file_signature(str(path)) != before


def test_an_unread_file_has_a_stable_signature(tmp_path: Path) -> None:
    path = configmap(tmp_path)
    path.read_text()
    assert file_signature(str(path)) == file_signature(str(path))


def test_a_missing_file_has_no_signature(tmp_path: Path) -> None:
    assert file_signature(str(tmp_path / "absent.yaml")) is None


# --- keep_bound_settings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changed", "warning"),
    [
        pytest.param(
            {"listen": "127.0.0.1:8081"},
            "t.yaml: listen: changing 127.0.0.1:8080 to 127.0.0.1:8081 needs a restart; "
            "keeping 127.0.0.1:8080",
            id="listen",
        ),
        pytest.param(
            {"metrics_listen": "127.0.0.1:9092"},
            "t.yaml: metrics_listen: changing 127.0.0.1:9091 to 127.0.0.1:9092 needs a "
            "restart; keeping 127.0.0.1:9091",
            id="metrics_listen",
        ),
        pytest.param(
            {"header": 16384},
            "t.yaml: limits.max_header_bytes: changing 32768 to 16384 needs a restart; "
            "keeping 32768",
            id="max_header_bytes",
        ),
        pytest.param(
            {"client_header": "3s"},
            "t.yaml: timeouts.client_header: changing 10s to 3s needs a restart; keeping 10s",
            id="client_header",
        ),
    ],
)
def test_what_only_a_restart_changes_is_kept_and_logged(
    records: list[logging.LogRecord], changed: dict[str, Any], warning: str
) -> None:
    running = config(text())
    new = config(text(max_age="1h", **changed))
    kept = keep_bound_settings(new, running)
    assert (kept.listen, kept.metrics_listen) == (running.listen, running.metrics_listen)
    assert kept.limits == running.limits
    assert kept.timeouts == running.timeouts
    assert kept.policies == new.policies and kept.sha256 == new.sha256
    assert [(r.levelname, r.getMessage()) for r in records] == [("WARNING", warning)]


def test_nothing_is_logged_when_nothing_bound_changes(records: list[logging.LogRecord]) -> None:
    assert keep_bound_settings(config(text("1h")), config(text())) == config(text("1h"))
    assert records == []


# --- Reloader ---------------------------------------------------------------------------


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "gateway.yaml"
        self.path.write_text(text())
        self.registry = CollectorRegistry()
        self.metrics = ConfigMetrics(self.registry)
        self.applied: list[GatewayConfig] = []
        self.now = 1_800_000_000.0
        self.reloader = Reloader(
            str(self.path), load_config(self.path), self.apply, self.metrics, clock=lambda: self.now
        )

    async def apply(self, new: GatewayConfig) -> None:
        self.applied.append(new)

    def count(self, result: str) -> float | None:
        return self.registry.get_sample_value("gateway_config_reloads_total", {"result": result})


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


async def test_a_valid_change_is_applied_and_counted(setup: Setup) -> None:
    setup.path.write_text(text("1h"))
    assert await setup.reloader.reload(forced=False) is True
    (applied,) = setup.applied
    assert applied.policy("general").max_age == 3600
    assert setup.reloader.config is applied
    assert (setup.count("success"), setup.count("failure")) == (1, 0)
    sha = applied.sha256[:12]
    assert setup.registry.get_sample_value("gateway_config_info", {"sha256": sha}) == 1
    assert (
        setup.registry.get_sample_value("gateway_config_last_reload_success_timestamp_seconds")
        == setup.now
    )


async def test_a_broken_file_changes_nothing_and_logs_one_line_per_problem(
    setup: Setup, records: list[logging.LogRecord]
) -> None:
    running = setup.reloader.config
    setup.path.write_text(
        text("1h")
        .replace("max_age: 1h", "max_age: 1h, update_age: 2h")
        .replace("default_policy: general", "default_policy: nobody")
    )
    assert await setup.reloader.reload(forced=True) is False
    assert setup.applied == [] and setup.reloader.config is running
    assert (setup.count("success"), setup.count("failure")) == (0, 1)
    path = str(setup.path)
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("ERROR", f"{path}: reload refused, still serving sha256 {running.sha256[:12]}:"),
        (
            "ERROR",
            f"{path}:6: policies.general.update_age: 2h must be shorter than max_age "
            "(1h); omit update_age for a static session",
        ),
        ("ERROR", f"{path}:7: default_policy: nobody is not one of the policies (general)"),
    ]
    assert all(r.exc_info is None for r in records)


@pytest.mark.parametrize(
    ("forced", "result", "successes"),
    [
        pytest.param(False, False, 0, id="file-watcher"),
        pytest.param(True, True, 1, id="sighup"),
    ],
)
async def test_the_same_bytes_are_not_applied_again(
    setup: Setup, forced: bool, result: bool, successes: int
) -> None:
    setup.path.write_text(text())
    assert await setup.reloader.reload(forced=forced) is result
    assert setup.applied == []
    assert setup.count("success") == successes


async def test_a_failure_while_applying_keeps_the_running_config(
    setup: Setup, records: list[logging.LogRecord]
) -> None:
    async def broken_apply(new: GatewayConfig) -> None:
        raise RuntimeError("bug")

    setup.reloader._apply = broken_apply
    running = setup.reloader.config
    setup.path.write_text(text("1h"))
    assert await setup.reloader.reload(forced=False) is False
    assert setup.reloader.config is running
    assert setup.count("failure") == 1
    assert records[-1].exc_info is not None  # a bug gets its traceback; a bad file never


async def test_a_new_listen_address_is_applied_without_it(setup: Setup) -> None:
    setup.path.write_text(text("1h", listen="127.0.0.1:9999"))
    assert await setup.reloader.reload(forced=False) is True
    assert str(setup.applied[0].listen) == "127.0.0.1:8080"


async def test_the_watcher_reloads_a_changed_file_once(setup: Setup) -> None:
    watcher = asyncio.create_task(setup.reloader.watch(interval=0.01, settle=0.01))
    try:
        rename_over(setup.path, text("1h"))
        deadline = time.monotonic() + 10
        while not setup.applied and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        rename_over(setup.path, text("1h"))  # same bytes again: noticed, not applied
        while setup.reloader._signature != file_signature(str(setup.path)):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    finally:
        watcher.cancel()
    assert [c.policy("general").max_age for c in setup.applied] == [3600]
    assert setup.count("success") == 1


async def test_a_change_made_before_the_reloader_started_is_not_missed(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(text())
    loaded = load_config(path)
    path.write_text(text("1h"))  # while the gateway was starting
    applied: list[GatewayConfig] = []

    async def apply(new: GatewayConfig) -> None:
        applied.append(new)

    reloader = Reloader(str(path), loaded, apply, ConfigMetrics(CollectorRegistry()))
    watcher = asyncio.create_task(reloader.watch(interval=0.01, settle=0.01))
    try:
        deadline = time.monotonic() + 10
        while not applied:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    finally:
        watcher.cancel()
    assert applied[0].policy("general").max_age == 3600


async def test_a_reload_cannot_turn_the_demo_on(
    tmp_path: Path, records: list[logging.LogRecord]
) -> None:
    # The demo guard checked loopback addresses, but a reload keeps the running listen
    # (here every interface): the public demo secret must not become valid under it.
    setup = Setup(tmp_path)
    setup.path.write_text(text(listen="0.0.0.0:8080"))
    setup.reloader = Reloader(
        str(setup.path),
        load_config(setup.path),
        setup.apply,
        setup.metrics,
        clock=lambda: setup.now,
    )
    demo = text().replace(SECRET, DEMO_SECRET)
    setup.path.write_text("demo: true\n" + demo)
    assert await setup.reloader.reload(forced=True) is False
    assert setup.applied == [] and setup.count("failure") == 1
    assert records[-1].getMessage() == (
        f"{setup.path}:1: demo: turning the demo on needs a restart (a reload keeps the "
        "addresses the process listens on, which the demo guard has not checked)"
    )
