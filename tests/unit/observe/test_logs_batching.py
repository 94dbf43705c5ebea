"""StdoutHandler's batching: one write per loop turn, writes kept to PIPE_BUF bytes, lines
written at once outside a loop, and a broken stdout that costs lines but not the handler."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.observe.logs import PIPE_BUF, StdoutHandler


class Recorder:
    """A stdout recording each write and flush call; while ``broken``, write raises EPIPE."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.broken = False

    def write(self, text: str) -> int:
        self.calls.append(("write", text))
        if self.broken:
            raise BrokenPipeError(32, "Broken pipe")
        return len(text)

    def flush(self) -> None:
        self.calls.append(("flush", ""))

    @property
    def writes(self) -> list[str]:
        return [text for call, text in self.calls if call == "write"]


def record_stdout(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Put a recorder in as sys.stdout. Called in the test body: pytest's output capture puts
    its own sys.stdout back when the call phase starts, over one a fixture set up."""
    recorder = Recorder()
    monkeypatch.setattr(sys, "stdout", recorder)
    return recorder


@pytest.fixture
def log(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[logging.Logger]:
    """A fresh logger writing bare messages through its own StdoutHandler; drained into a
    spare recorder and detached after, so nothing is left for logging.shutdown."""
    logger = logging.getLogger(f"tests.log_batching.{request.node.name}")
    handler = StdoutHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger
    record_stdout(monkeypatch)
    handler.flush()
    logger.removeHandler(handler)
    handler.close()


async def test_the_lines_of_one_turn_go_out_in_one_write_at_its_end(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    for n in range(5):
        log.info("line %d", n)
    assert stdout.calls == []
    await asyncio.sleep(0)
    assert stdout.calls == [("write", "".join(f"line {n}\n" for n in range(5))), ("flush", "")]


async def test_writes_hold_whole_lines_and_at_most_pipe_buf_bytes(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    lines = [f"{n}" * 999 + "\n" for n in range(10)]  # 1000 bytes each
    for line in lines:
        log.info(line[:-1])
    await asyncio.sleep(0)
    assert [len(w) for w in stdout.writes] == [4000, 4000, 2000]  # whole lines only
    assert "".join(stdout.writes) == "".join(lines)
    stdout.calls.clear()
    half = PIPE_BUF // 2 - 1  # two lines of this, with their newlines, are exactly PIPE_BUF
    log.info("a" * half)
    log.info("b" * half)
    await asyncio.sleep(0)
    assert stdout.writes == ["a" * half + "\n" + "b" * half + "\n"]


async def test_a_line_longer_than_pipe_buf_goes_out_alone(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    for message in ("before", "L" * 5000, "after"):
        log.info(message)
    await asyncio.sleep(0)
    assert stdout.writes == ["before\n", "L" * 5000 + "\n", "after\n"]


async def test_non_ascii_lines_count_bytes_not_characters(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    euros = "\u20ac" * 1000  # 1000 characters, 3000 bytes: two fit by characters, not bytes
    for _ in range(3):
        log.info(euros)
    await asyncio.sleep(0)
    assert stdout.writes == [euros + "\n"] * 3


def test_outside_a_loop_each_line_is_written_at_once(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    log.info("one")
    assert stdout.calls == [("write", "one\n"), ("flush", "")]
    log.info("two")
    assert stdout.calls[2:] == [("write", "two\n"), ("flush", "")]


async def test_flush_writes_the_pending_lines_before_the_turn_ends(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    log.info("a")
    log.info("b")
    log.handlers[0].flush()
    assert stdout.calls == [("write", "a\nb\n"), ("flush", "")]
    await asyncio.sleep(0)  # the queued flush finds nothing left to write
    assert stdout.calls == [("write", "a\nb\n"), ("flush", "")]


async def test_a_broken_stdout_drops_the_turn_and_the_next_turn_writes_again(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
    stdout.broken = True
    log.info("lost")
    await asyncio.sleep(0)
    assert stdout.calls == [("write", "lost\n")]  # tried once, nothing else
    stdout.broken = False
    log.info("back")
    await asyncio.sleep(0)
    assert stdout.calls[1:] == [("write", "back\n"), ("flush", "")]  # "lost" is gone
    assert errors == []  # the failed flush did not escape the loop callback


def test_a_line_after_a_loop_closed_with_a_flush_queued_is_written_at_once(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    loop = asyncio.new_event_loop()

    # The loop stops at the end of this turn, before the flush the line queued can run.
    def last_turn() -> None:
        log.info("last turn")
        loop.stop()

    loop.call_soon(last_turn)
    loop.run_forever()
    loop.close()
    log.info("after")
    assert "after\n" in "".join(stdout.writes)


async def test_a_thread_without_a_loop_writes_at_once_while_a_turn_is_pending(
    log: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdout = record_stdout(monkeypatch)
    log.info("loop line")
    thread = threading.Thread(target=log.info, args=("thread line",))
    thread.start()
    thread.join()
    # Written at once, after what the loop's turn had pending: the order is kept.
    assert stdout.writes == ["loop line\nthread line\n"]
