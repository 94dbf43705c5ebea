"""deploy/systemd/gateway.service: systemd's own checks (`systemd-analyze verify`, and
`security --offline` for the hardening score), then what they cannot know: the reload really
sends SIGHUP, the config it names is read-only to the service, the secret comes from a file,
and systemd waits longer than the gateway's shutdown grace."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from gateway.config import Timeouts
from tests.deploy.proxies.stack import proxy_tool
from tests.deploy.support import DEPLOY, run

UNIT = DEPLOY / "systemd/gateway.service"
INSTALLED = "/opt/session-gateway/bin/gateway"  # where the unit expects the gateway
# systemd-analyze security's exposure (0-100, shown as 0.0-10.0): 1.4 today; "OK" ends at 2.
MAX_EXPOSURE = 20


def directives(text: str) -> dict[str, list[str]]:
    """``Key`` -> its values in order, across sections (keys may repeat in units)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.fixture(scope="module")
def unit() -> dict[str, list[str]]:
    return directives(UNIT.read_text())


@pytest.fixture
def runnable(tmp_path: Path) -> Path:
    """The unit as shipped, with the gateway this test suite runs in place of the installed
    one (verify checks that every command exists)."""
    gateway = Path(sys.executable).parent / "gateway"
    assert gateway.is_file(), f"{gateway}: the project is not installed in its venv"
    text = UNIT.read_text()
    assert INSTALLED in text
    path = tmp_path / "session-gateway.service"
    path.write_text(text.replace(INSTALLED, str(gateway)))
    return path


def test_systemd_verify_finds_nothing_to_say(runnable: Path) -> None:
    checked = run([proxy_tool("systemd-analyze"), "verify", str(runnable)])
    assert checked.returncode == 0, checked.stderr
    assert (checked.stdout + checked.stderr).strip() == ""  # unknown keys only warn


def test_hardening_scores_ok(runnable: Path) -> None:
    scored = run(
        [
            proxy_tool("systemd-analyze"),
            "security",
            "--offline=true",
            f"--threshold={MAX_EXPOSURE}",
            str(runnable),
        ]
    )
    assert scored.returncode == 0, scored.stdout[-2000:] + scored.stderr


def test_reload_checks_the_file_then_sends_sighup(unit: dict[str, list[str]]) -> None:
    *checks, signal = unit["ExecReload"]
    assert shlex.split(signal) == ["/bin/kill", "-HUP", "$MAINPID"]
    assert [shlex.split(c)[1:] for c in checks] == [["check", "--config", config_of(unit)]]


def config_of(unit: dict[str, list[str]]) -> str:
    [start] = unit["ExecStart"]
    args = shlex.split(start)
    assert args[:2] == [INSTALLED, "run"]
    return args[args.index("--config") + 1]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),  # --workers keeps its shared metric files in /tmp
        ("DynamicUser", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("SystemCallFilter", "@system-service"),
    ],
    ids=lambda v: v or "empty",
)
def test_hardening(unit: dict[str, list[str]], key: str, value: str) -> None:
    assert value in unit[key]


def test_config_directory_is_read_only(unit: dict[str, list[str]]) -> None:
    config = Path(config_of(unit))
    read_only = [Path(p) for line in unit["ReadOnlyPaths"] for p in line.split()]
    assert any(config.is_relative_to(p) for p in read_only)


def test_secret_comes_from_an_environment_file(unit: dict[str, list[str]]) -> None:
    [env_file] = unit["EnvironmentFile"]
    assert env_file.startswith("/") and not env_file.startswith("-")  # missing: fail start
    assert not any("SECRET" in line for line in unit.get("Environment", []))


def test_systemd_waits_longer_than_the_shutdown_grace(unit: dict[str, list[str]]) -> None:
    [stop] = unit["TimeoutStopSec"]
    written = re.fullmatch(r"(\d+)s", stop)
    assert written is not None, stop
    assert int(written.group(1)) > Timeouts().shutdown_grace
    assert unit["KillSignal"] == ["SIGTERM"]


def test_start_checks_the_config_first(unit: dict[str, list[str]]) -> None:
    [pre] = unit["ExecStartPre"]
    assert shlex.split(pre) == [INSTALLED, "check", "--config", config_of(unit)]
