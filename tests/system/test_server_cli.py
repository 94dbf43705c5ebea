"""``gateway run`` manners, on the real command: a bad file or bad arguments exit 2 with
clear lines, an address that is taken exits 1 with one line; never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.gateway_process import Launch


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--workers", "0"], "'0' is not a positive whole number", id="workers-0"),
        pytest.param(
            ["--workers", "two"], "'two' is not a positive whole number", id="workers-word"
        ),
        pytest.param(["--port", "1"], "unrecognized arguments: --port 1", id="unknown-option"),
    ],
)
def test_bad_arguments_exit_2(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    done = run("--config", str(missing))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{missing}:1: cannot read the file: No such file or directory"
    ]
    assert done.stdout == ""


def test_a_broken_file_names_each_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("listen: nowhere\npolicies: {}\nmaxAge: 1h\n")
    done = run("--config", str(broken))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines and all(line.startswith(f"{broken}:") for line in lines)
    assert f"{broken}:3: maxAge: unknown key; did you mean policies.<name>.max_age?" in lines
    assert "Traceback" not in done.stderr


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other program listens on (no SO_REUSEPORT)."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        yield int(blocker.getsockname()[1])


@pytest.mark.parametrize("which", ["port", "metrics_port"])
async def test_an_address_in_use_exits_1_with_one_line(
    launch: Launch, taken_port: int, which: str
) -> None:
    gateway = await launch(ready=False, **{which: taken_port})
    assert await gateway.exited() == 1
    assert gateway.log().splitlines()[-1] == (
        f"gateway: cannot listen on 127.0.0.1:{taken_port}: Address already in use"
    )
    assert "Traceback" not in gateway.log()


async def test_a_worker_that_cannot_listen_stops_the_start(launch: Launch, taken_port: int) -> None:
    gateway = await launch(ready=False, workers=2, port=taken_port)
    assert await gateway.exited() == 1
    log = gateway.log()
    assert (f"cannot listen on 127.0.0.1:{taken_port}: Address already in use") in log
    assert log.splitlines()[-1] == (
        "gateway: a worker could not start (its reason is printed above)"
    )
    assert "Traceback" not in log
